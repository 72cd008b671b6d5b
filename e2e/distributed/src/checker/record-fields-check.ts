import {
  ELS_SOURCE_SERVICE,
  SCHEMA_VERSION,
  TOPICS,
  deterministicEventId,
  partitionForKey,
  traceContextOf,
  type BaseTopic,
  type TraceContext,
} from '@els/contracts';
import type { SentLogLine } from '@els/workload';
import type { ObservedMessage } from '@els/harness';
import { dataOf, ENVELOPE_TOPICS, textKey, whereOf, type HistoryIndex } from '../history/history-index';
import { schemaErrors } from './published-schemas';

/**
 * Every field of every output record against what caused it, record by record (re-publishes included):
 * the envelope (event type = topic, source service, schema version, a timestamp not before its cause, the
 * deterministic event id recomputed from its kind and keys, the partition key in `metadata`), the Kafka key
 * the contract names for its topic and the partition that key maps to, the headers, the data fields a
 * consumer reads (`data.event`; file upload id, file name and correlation id of the content that was sent;
 * course, user and correlation id of the registration), the trace context in `metadata` (the usable part of
 * what the cause sent: the content's for slot-assigned and excess, the registration's for the completion),
 * and the published JSON Schema of the event. The checks of
 * which slot holds which text, and of the completion's counts, live beside the database's (assignment,
 * excess and completion checks).
 */

/** The output topics' partition counts, when the run read them (partition = partitioner of the key). */
export type OutputPartitions = Partial<Record<BaseTopic, number>>;

/** The contract's Kafka key of each output topic, read from the record's data. */
const KEY_FIELD: Partial<Record<BaseTopic, string>> = {
  [TOPICS.essaySlotAssigned]: 'essay_id',
  [TOPICS.excessContentProvisioned]: 'batch_id',
  [TOPICS.batchContentProvisioningCompleted]: 'batch_id',
};

/** `data.event` of each output, the event name the Python models write. */
const EVENT_NAME: Partial<Record<BaseTopic, string>> = {
  [TOPICS.essaySlotAssigned]: 'essay.slot.assigned',
  [TOPICS.excessContentProvisioned]: 'excess.content.provisioned',
  [TOPICS.batchContentProvisioningCompleted]: 'batch.content.provisioning.completed',
};

/** The deterministic id of a record: UUIDv5 of its event kind and the keys that make it one event. */
function expectedEventId(topic: BaseTopic, data: Record<string, unknown>): string | undefined {
  const field = (name: string) => String(data[name]);
  switch (topic) {
    case TOPICS.essaySlotAssigned:
      return deterministicEventId('EssaySlotAssignedV1', [field('batch_id'), field('essay_id')]);
    case TOPICS.excessContentProvisioned:
      return deterministicEventId('ExcessContentProvisionedV1', [
        field('batch_id'),
        field('text_storage_id'),
      ]);
    case TOPICS.batchContentProvisioningCompleted:
      return deterministicEventId('BatchContentProvisioningCompletedV1', [field('batch_id')]);
    default:
      return undefined;
  }
}

/** Whether `value` is one of the values the causes logged (an unlogged field, in an older log, passes). */
function oneOf(value: unknown, logged: ReadonlyArray<string | null | undefined>): boolean {
  const known = logged.filter((entry): entry is string => typeof entry === 'string');
  return known.length === 0 || known.includes(String(value));
}

interface Causes {
  /** `batch/text` → every content copy sent of that text. */
  copies: Map<string, SentLogLine[]>;
  /** batch → its registration as first sent. */
  registration: Map<string, SentLogLine>;
}

function causesOf(index: HistoryIndex): Causes {
  const copies = new Map<string, SentLogLine[]>();
  const registration = new Map<string, SentLogLine>();
  for (const line of index.delivered) {
    if ((line.kind === 'content' || line.kind === 'duplicate') && line.textStorageId) {
      const key = textKey(line.batchId, line.textStorageId);
      copies.set(key, [...(copies.get(key) ?? []), line]);
    }
    if (line.kind === 'registration' && !registration.has(line.batchId)) registration.set(line.batchId, line);
  }
  return { copies, registration };
}

/** The trace context a cause's outputs must carry; undefined when the log did not record what it sent. */
function expectedTrace(line: SentLogLine): TraceContext | null | undefined {
  if (line.traceparent === undefined) return undefined;
  return traceContextOf({ traceparent: line.traceparent, tracestate: line.tracestate });
}

const traceText = (traceparent: unknown, tracestate: unknown) =>
  traceparent === undefined && tracestate === undefined
    ? 'none'
    : `${String(traceparent)}${tracestate === undefined ? '' : ` / ${String(tracestate)}`}`;

/** The record's `metadata` trace context must be exactly one cause's (traceparent and tracestate alike). */
function traceErrors(
  record: ObservedMessage,
  causes: readonly SentLogLine[],
  whose: string,
  wrong: (what: string) => void,
): void {
  const expected = causes.map(expectedTrace).filter((trace) => trace !== undefined);
  if (expected.length === 0) return;
  const metadata = record.value?.['metadata'];
  const fields =
    metadata !== null && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {};
  const [traceparent, tracestate] = [fields['traceparent'], fields['tracestate']];
  const matches = expected.some(
    (trace) => trace?.traceparent === traceparent && trace?.tracestate === tracestate,
  );
  if (!matches) {
    const first = expected[0];
    wrong(
      `trace context ${traceText(traceparent, tracestate)}, ${whose} ${traceText(first?.traceparent, first?.tracestate)}`,
    );
  }
}

const earliest = (lines: readonly SentLogLine[]) => Math.min(...lines.map((line) => line.sentAtMs));

/** The envelope, key, partition and header rules every ELS event shares. */
function envelopeErrors(
  record: ObservedMessage,
  partitions: OutputPartitions,
  wrong: (what: string) => void,
): void {
  const value = record.value ?? {};
  const data = dataOf(record);
  for (const problem of schemaErrors(record.topic, value)) wrong(`published schema: ${problem}`);
  if (value['event_type'] !== record.topic) wrong(`event_type ${String(value['event_type'])}`);
  if (value['source_service'] !== ELS_SOURCE_SERVICE)
    wrong(`source_service ${String(value['source_service'])}`);
  if (value['schema_version'] !== SCHEMA_VERSION) wrong(`schema_version ${String(value['schema_version'])}`);
  if (data['correlation_id'] !== value['correlation_id']) {
    wrong(
      `data.correlation_id ${String(data['correlation_id'])} ≠ envelope ${String(value['correlation_id'])}`,
    );
  }
  if (data['timestamp'] !== value['event_timestamp']) {
    wrong(
      `data.timestamp ${String(data['timestamp'])} ≠ event_timestamp ${String(value['event_timestamp'])}`,
    );
  }
  const eventName = EVENT_NAME[record.topic];
  if (eventName !== undefined && data['event'] !== eventName) {
    wrong(`data.event ${String(data['event'])}, expected ${eventName}`);
  }
  const eventId = expectedEventId(record.topic, data);
  if (eventId !== undefined && value['event_id'] !== eventId) {
    wrong(`event_id ${String(value['event_id'])}, deterministic id ${eventId}`);
  }
  const keyField = KEY_FIELD[record.topic];
  const key = keyField === undefined ? undefined : String(data[keyField]);
  if (key !== undefined && record.key !== key)
    wrong(`Kafka key ${String(record.key)}, expected ${keyField} ${key}`);
  const metadata = value['metadata'];
  const partitionKey =
    metadata !== null && typeof metadata === 'object'
      ? (metadata as Record<string, unknown>)['partition_key']
      : undefined;
  if (key !== undefined && partitionKey !== key)
    wrong(`metadata.partition_key ${String(partitionKey)}, expected ${key}`);
  const count = partitions[record.topic];
  if (count !== undefined && record.key !== null && record.partition !== partitionForKey(record.key, count)) {
    wrong(
      `on partition ${record.partition}, its key maps to ${partitionForKey(record.key, count)} of ${count}`,
    );
  }
  if (record.headers['x-els-event-id'] !== value['event_id']) {
    wrong(`header x-els-event-id ${String(record.headers['x-els-event-id'])} ≠ event_id`);
  }
  if (!record.headers['x-els-origin']) wrong('no x-els-origin header');
}

/** A timestamp earlier than the send of its cause (1 ms for the ISO form's rounding). */
function beforeCause(record: ObservedMessage, causeMs: number, wrong: (what: string) => void, cause: string) {
  const at = Date.parse(String(record.value?.['event_timestamp']));
  if (Number.isFinite(at) && at < causeMs - 1) {
    wrong(
      `event_timestamp ${new Date(at).toISOString()} before its ${cause} was sent (${new Date(causeMs).toISOString()})`,
    );
  }
}

export function checkRecordFields(index: HistoryIndex, partitions: OutputPartitions = {}): string[] {
  const errors = new Set<string>();
  const causes = causesOf(index);
  for (const topic of ENVELOPE_TOPICS) {
    for (const record of index.recordsOf(topic)) {
      if (record.value === undefined) {
        errors.add(`${whereOf(record)}: not a JSON envelope`);
        continue;
      }
      const data = dataOf(record);
      const batchId = String(data['batch_id']);
      const wrong = (what: string) => errors.add(`${whereOf(record)} (${batchId}): ${what}`);
      envelopeErrors(record, partitions, wrong);
      const registration = causes.registration.get(batchId);
      if (topic === TOPICS.batchContentProvisioningCompleted) {
        if (!registration) continue;
        if (!oneOf(data['course_code'], [registration.courseCode]))
          wrong(`course_code ${String(data['course_code'])}, registered ${registration.courseCode}`);
        if (!oneOf(data['user_id'], [registration.userId]))
          wrong(`user_id ${String(data['user_id'])}, registered ${registration.userId}`);
        if (!oneOf(data['correlation_id'], [registration.correlationId])) {
          wrong(
            `correlation_id ${String(data['correlation_id'])}, the registration's ${registration.correlationId}`,
          );
        }
        traceErrors(record, [registration], "the registration's", wrong);
        const listed = Array.isArray(data['essays_for_processing']) ? data['essays_for_processing'] : [];
        const sends = [registration.sentAtMs];
        for (const pair of listed as Array<Record<string, unknown>>) {
          const copies = causes.copies.get(textKey(batchId, String(pair['text_storage_id'])));
          if (copies) sends.push(earliest(copies));
        }
        beforeCause(record, Math.max(...sends), wrong, 'last text or registration');
        continue;
      }
      // Slot assigned or excess: the content that was sent for this text (any of its copies).
      const copies = causes.copies.get(textKey(batchId, String(data['text_storage_id'])));
      if (!copies) continue; // an effect for a text never sent: the unexpected set names it
      if (
        topic === TOPICS.essaySlotAssigned &&
        !oneOf(
          data['file_upload_id'],
          copies.map((c) => c.fileUploadId),
        )
      ) {
        wrong(`file_upload_id ${String(data['file_upload_id'])}, sent ${copies[0]?.fileUploadId}`);
      }
      if (
        !oneOf(
          data['original_file_name'],
          copies.map((c) => c.originalFileName),
        )
      ) {
        wrong(
          `original_file_name ${String(data['original_file_name'])}, sent ${copies[0]?.originalFileName}`,
        );
      }
      if (
        !oneOf(
          data['correlation_id'],
          copies.map((c) => c.correlationId),
        )
      ) {
        wrong(`correlation_id ${String(data['correlation_id'])}, the content's ${copies[0]?.correlationId}`);
      }
      traceErrors(record, copies, "the content's", wrong);
      if (topic === TOPICS.excessContentProvisioned && data['reason'] !== 'NO_AVAILABLE_SLOT') {
        wrong(`reason ${String(data['reason'])}`);
      }
      beforeCause(
        record,
        Math.max(earliest(copies), registration?.sentAtMs ?? 0),
        wrong,
        'text and registration',
      );
    }
  }
  return [...errors].sort();
}
