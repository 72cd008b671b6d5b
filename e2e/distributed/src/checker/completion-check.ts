import { TOPICS } from '@els/contracts';
import type { BatchExpectation } from '@els/workload';
import type { ObservedMessage } from '@els/harness';
import { dataOf, eventIdOf, field, payloadOf, whereOf, type HistoryIndex } from '../history/history-index';

export interface CompletionCheck {
  /** Distinct completions per batch: Kafka records, counting byte-identical re-publishes once. */
  completionsPerBatch: Record<string, number>;
  completionErrors: string[];
  duplicated: string[];
  unexpected: string[];
  /** One record of each distinct completion (for latency). */
  completions: ObservedMessage[];
}

/**
 * Completions counted per Kafka record (invariant 4): records of one batch count as one only when they are
 * re-publishes of one event (same event id, same payload); one per complete batch, none for the others.
 * Each payload is compared with the database element by element: `essays_for_processing` is exactly the
 * batch's (essay, text) pairs, `provisioned_count` the slots holding a text, `expected_count` the slots
 * registered, and the correlation id the registration's (from the sent log, else the `batches` row).
 */
export function checkCompletions(
  index: HistoryIndex,
  expectations: readonly BatchExpectation[],
): CompletionCheck {
  const errors: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  const distinctOfBatch = new Map<string, Map<string, ObservedMessage>>();
  for (const record of index.recordsOf(TOPICS.batchContentProvisioningCompleted)) {
    const batchId = field(record, 'batch_id');
    const distinct = distinctOfBatch.get(batchId) ?? new Map<string, ObservedMessage>();
    const identity = `${eventIdOf(record)}\n${payloadOf(record)}`;
    if (!distinct.has(identity)) distinct.set(identity, record);
    distinctOfBatch.set(batchId, distinct);
  }

  const completionsPerBatch: Record<string, number> = {};
  for (const expectation of expectations) completionsPerBatch[expectation.batchId] = 0;
  const completions: ObservedMessage[] = [];
  for (const [batchId, distinct] of distinctOfBatch) {
    if (!(batchId in completionsPerBatch)) unexpected.push(`${batchId} (completion of a batch never sent)`);
    completionsPerBatch[batchId] = distinct.size;
    for (const record of distinct.values()) {
      completions.push(record);
      errors.push(...comparePayload(index, batchId, record));
    }
  }
  const expectationOf = new Map(expectations.map((e) => [e.batchId, e]));
  for (const [batchId, count] of Object.entries(completionsPerBatch)) {
    const expectation = expectationOf.get(batchId);
    const wanted = expectation?.completionExpected ? 1 : 0;
    if (count > 1) duplicated.push(`${batchId} (${count} completion events)`);
    if (count !== wanted) errors.push(`${batchId}: ${count} completion events, expected ${wanted}`);
  }
  return {
    completionsPerBatch,
    completionErrors: errors,
    duplicated: duplicated.sort(),
    unexpected: unexpected.sort(),
    completions,
  };
}

function comparePayload(index: HistoryIndex, batchId: string, record: ObservedMessage): string[] {
  const errors: string[] = [];
  const at = `${batchId}: completion ${whereOf(record)}`;
  const data = dataOf(record);
  const slots = index.slotsOfBatch.get(batchId) ?? [];
  const assigned = new Set(
    slots.filter((slot) => slot.text_storage_id !== null).map((s) => `${s.essay_id}=${s.text_storage_id}`),
  );
  const listed = Array.isArray(data['essays_for_processing'])
    ? (data['essays_for_processing'] as Array<Record<string, unknown>>).map(
        (entry) => `${String(entry['essay_id'])}=${String(entry['text_storage_id'])}`,
      )
    : [];
  const listedSet = new Set(listed);
  if (listedSet.size !== listed.length) errors.push(`${at} lists a pair twice`);
  const extra = [...listedSet].filter((pair) => !assigned.has(pair)).sort();
  const missing = [...assigned].filter((pair) => !listedSet.has(pair)).sort();
  if (extra.length > 0) errors.push(`${at} lists ${extra.join(', ')}, which the database does not hold`);
  if (missing.length > 0) errors.push(`${at} omits ${missing.join(', ')}, which the database holds`);
  if (data['provisioned_count'] !== assigned.size) {
    errors.push(
      `${at} has provisioned_count ${String(data['provisioned_count'])}, the database holds ${assigned.size} texts`,
    );
  }
  const registered = index.batchRow.get(batchId);
  if (data['expected_count'] !== slots.length || (registered && registered.expected_count !== slots.length)) {
    errors.push(
      `${at} has expected_count ${String(data['expected_count'])}, the database has ${slots.length} slots`,
    );
  }
  const correlationIds = [record.value?.['correlation_id'], data['correlation_id']];
  const registration = index.registrationCorrelation.get(batchId) ?? registered?.correlation_id;
  if (!registered) errors.push(`${at} for a batch the database never registered`);
  if (registration === undefined) errors.push(`${at} for a batch never registered`);
  else if (correlationIds.some((id) => id !== registration)) {
    errors.push(
      `${at} carries correlation id ${correlationIds.map(String).join(' / ')}, the registration's is ${registration}`,
    );
  }
  return errors;
}
