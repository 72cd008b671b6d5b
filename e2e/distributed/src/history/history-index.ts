import { TOPICS, type BaseTopic } from '@els/contracts';
import type { BatchExpectation, SentLogLine } from '@els/workload';
import type { ObservedMessage } from '@els/harness';
import type { DatabaseSnapshot } from './database-snapshot';

/**
 * The history a run leaves behind, indexed once for every check: what the generator sent (its sent log and
 * expectations), every record of the output topics (one entry per Kafka record, never collapsed by event
 * id) and the database snapshot, the second witness.
 */

export interface History {
  sent: readonly SentLogLine[];
  expectations: readonly BatchExpectation[];
  outputs: readonly ObservedMessage[];
  db: DatabaseSnapshot;
}

export type SlotRow = DatabaseSnapshot['slots'][number];

export interface HistoryIndex {
  /** Sent lines the broker accepted (refused ones were never written). */
  delivered: SentLogLine[];
  /** `batch/text` of every content message sent (first copies and duplicates). */
  sentTexts: Set<string>;
  slotByEssay: Map<string, SlotRow>;
  slotsOfBatch: Map<string, SlotRow[]>;
  /** `batch/text` → the slots holding that text. */
  slotsOfText: Map<string, SlotRow[]>;
  excessRows: Set<string>;
  batchRow: Map<string, DatabaseSnapshot['batches'][number]>;
  /** Batch → correlation id of the registration the generator sent (when logged). */
  registrationCorrelation: Map<string, string>;
  /** Every record of one output topic, in arrival order. */
  recordsOf(topic: BaseTopic): ObservedMessage[];
}

export const textKey = (batchId: string, text: string) => `${batchId}/${text}`;

/** The `data` object of an output record's envelope (empty when the record does not parse). */
export function dataOf(message: ObservedMessage): Record<string, unknown> {
  const data = message.value?.['data'];
  return data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
}

export const field = (message: ObservedMessage, name: string): string => String(dataOf(message)[name]);

export const eventIdOf = (message: ObservedMessage): string => String(message.value?.['event_id']);

/** Where a record sits, for messages that name it. */
export const whereOf = (message: ObservedMessage) =>
  `${message.topic}[${message.partition}]@${message.offset}`;

/** The record's payload, as JSON with sorted keys (raw bytes when it does not parse). */
export function payloadOf(message: ObservedMessage): string {
  if (message.value === undefined) return message.raw.toString('base64');
  const sorted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sorted);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return JSON.stringify(sorted(message.value));
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function indexHistory(history: History): HistoryIndex {
  const delivered = history.sent.filter((line) => line.rejected === undefined);
  const sentTexts = new Set<string>();
  const registrationCorrelation = new Map<string, string>();
  for (const line of delivered) {
    if (line.kind === 'registration' && line.correlationId) {
      registrationCorrelation.set(line.batchId, line.correlationId);
    }
    if ((line.kind === 'content' || line.kind === 'duplicate') && line.textStorageId) {
      sentTexts.add(textKey(line.batchId, line.textStorageId));
    }
  }
  const slotByEssay = new Map<string, SlotRow>();
  const slotsOfBatch = new Map<string, SlotRow[]>();
  const slotsOfText = new Map<string, SlotRow[]>();
  for (const slot of history.db.slots) {
    slotByEssay.set(slot.essay_id, slot);
    push(slotsOfBatch, slot.batch_id, slot);
    if (slot.text_storage_id !== null) push(slotsOfText, textKey(slot.batch_id, slot.text_storage_id), slot);
  }
  const byTopic = new Map<string, ObservedMessage[]>();
  for (const message of history.outputs) push(byTopic, message.topic, message);
  return {
    delivered,
    sentTexts,
    slotByEssay,
    slotsOfBatch,
    slotsOfText,
    excessRows: new Set(history.db.excess.map((row) => textKey(row.batch_id, row.text_storage_id))),
    batchRow: new Map(history.db.batches.map((row) => [row.batch_id, row])),
    registrationCorrelation,
    recordsOf: (topic) => byTopic.get(topic) ?? [],
  };
}

/** The output topics whose records carry envelopes with event ids. */
export const ENVELOPE_TOPICS: readonly BaseTopic[] = [
  TOPICS.essaySlotAssigned,
  TOPICS.excessContentProvisioned,
  TOPICS.batchContentProvisioningCompleted,
];

/**
 * Records sharing an event id must carry one payload: a re-publish (at-least-once) repeats the record, a
 * second event under the same id would be invisible to every consumer that deduplicates by id.
 */
export function checkEventIdPayloads(index: HistoryIndex): string[] {
  const errors: string[] = [];
  for (const topic of ENVELOPE_TOPICS) {
    const byId = new Map<string, ObservedMessage[]>();
    for (const message of index.recordsOf(topic)) push(byId, eventIdOf(message), message);
    for (const [id, records] of byId) {
      const payloads = new Set(records.map(payloadOf));
      if (payloads.size > 1) {
        errors.push(
          `${topic} event ${id}: ${records.length} records carry ${payloads.size} different payloads (${records.map(whereOf).join(', ')})`,
        );
      }
    }
  }
  return errors.sort();
}
