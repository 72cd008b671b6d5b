import type { BatchEssaysRegisteredData } from './events/batch-essays-registered';
import { buildBatchContentProvisioningCompleted } from './output-builders';
import { ID_MAX_BYTES, utf8ByteLength } from './string-limits';
import { TRACESTATE_MAX_LENGTH, type TraceContext } from './trace-context';

/**
 * The largest completion event (value bytes, before compression) ELS publishes. The completion topic
 * accepts it plus record overhead (topic-admin plans the topic's `max.message.bytes`); a registration
 * whose completion could be larger is refused (`ELS_ERR_BATCH_TOO_LARGE`), since its batch could
 * never be announced.
 */
export const COMPLETION_EVENT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A text id of ID_MAX_BYTES bytes, JSON-escaped, quoted: ids hold no control characters, so the worst
 * escape is `"` or `\` doubling a byte.
 */
const WORST_TEXT_ID_JSON_BYTES = 2 * ID_MAX_BYTES + 2;

/**
 * The relay publishes the payload as PostgreSQL renders it from jsonb (`payload::text`), which puts a
 * space after every `:` and `,`. Per essay entry: two keys and one comma inside, one comma between.
 */
const JSONB_SPACES_PER_ESSAY = 4;

/** Envelope and data fields around the essay list: an upper bound on their separators' spaces. */
const JSONB_SPACES_OUTSIDE_ESSAYS = 64;

const ESSAY_ENTRY_FIELD_BYTES = utf8ByteLength('{"essay_id":,"text_storage_id":},');

const PLACEHOLDER_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * The largest trace context the completion can carry (the registration's): a traceparent has a fixed
 * length, and a tracestate of the longest accepted length whose every character JSON escapes to two.
 */
const WORST_TRACE_CONTEXT: TraceContext = {
  traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
  tracestate: '"'.repeat(TRACESTATE_MAX_LENGTH),
};

/**
 * An upper bound on the size in bytes of the completion event a registration can produce: its own
 * essay ids (JSON-encoded as they are), each holding the worst-case text id (ID_MAX_BYTES bytes, every
 * byte escaped), the envelope around them with this registration's batch id, user id and course and the
 * largest trace context, and the whitespace PostgreSQL's jsonb rendering adds.
 */
export function completionEventMaxBytes(
  registration: Pick<
    BatchEssaysRegisteredData,
    'entity_id' | 'essay_ids' | 'expected_essay_count' | 'user_id' | 'course_code'
  >,
): number {
  const empty = buildBatchContentProvisioningCompleted({
    batchId: registration.entity_id,
    expectedCount: registration.expected_essay_count,
    courseCode: registration.course_code,
    userId: registration.user_id,
    essaysForProcessing: [],
    correlationId: PLACEHOLDER_UUID,
    traceContext: WORST_TRACE_CONTEXT,
    at: new Date(0),
  });
  // provisioned_count grows from "0" to at most the digits of the slot count.
  const envelopeBytes =
    utf8ByteLength(JSON.stringify(empty.envelope)) +
    String(registration.essay_ids.length).length +
    JSONB_SPACES_OUTSIDE_ESSAYS;
  let essayBytes = 0;
  for (const essayId of registration.essay_ids) {
    essayBytes +=
      ESSAY_ENTRY_FIELD_BYTES +
      utf8ByteLength(JSON.stringify(essayId)) +
      WORST_TEXT_ID_JSON_BYTES +
      JSONB_SPACES_PER_ESSAY;
  }
  return envelopeBytes + essayBytes;
}
