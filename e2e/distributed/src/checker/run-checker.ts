import { TOPICS } from '@els/contracts';
import type { Sql } from '@els/coordination';
import type { ObservedMessage } from '../harness/kafka-probe';
import type { BatchExpectation, SentLogLine } from '../generator';
import { createLatencyHistogram, type LatencySummary } from './latency-histogram';

/**
 * The checker: compares what the generator sent (its sent log and expectations) with the database and the
 * output topics, and names every difference. A correct run has empty lost, duplicated and unexpected sets,
 * exactly one completion per complete batch and none for the others, no false excess, and one dead letter
 * per malformed message.
 */

export interface DatabaseSnapshot {
  slots: { batch_id: string; essay_id: string; status: string; text_storage_id: string | null }[];
  excess: { batch_id: string; text_storage_id: string }[];
  pending: { batch_id: string; text_storage_id: string }[];
  unpublishedOutboxRows: number;
}

export interface CheckInput {
  sent: readonly SentLogLine[];
  expectations: readonly BatchExpectation[];
  outputs: readonly ObservedMessage[];
  db: DatabaseSnapshot;
}

export interface LatencyPoint {
  /** Send time of the text, ms since epoch. */
  atMs: number;
  latencyMs: number;
}

export interface CheckResult {
  sent: number;
  assigned: number;
  excess: number;
  deadLetters: number;
  malformedSent: number;
  /** `batch/text` entries that ended in no defined state, or whose assignment was never announced. */
  lost: string[];
  /** `batch/text` (or `batch` for completions) that took effect more than once. */
  duplicated: string[];
  /** Effects nobody asked for: assignments or events for texts or batches never sent. */
  unexpected: string[];
  /** Excess reported for a batch that still has a free slot (invariant 2). */
  falseExcess: string[];
  completionsPerBatch: Record<string, number>;
  /** Batches whose completion count is wrong (one expected for complete batches, none otherwise). */
  completionErrors: string[];
  /** Dead letters that do not match a malformed message, or malformed messages with no dead letter. */
  deadLetterErrors: string[];
  throughputPerSec: number;
  latencyMs: LatencySummary;
  completionLatencyMs: LatencySummary;
  latencySeries: LatencyPoint[];
  unpublishedOutboxRows: number;
}

const key = (batchId: string, text: string) => `${batchId}/${text}`;

function data(message: ObservedMessage): Record<string, unknown> {
  return (message.value?.['data'] as Record<string, unknown> | undefined) ?? {};
}

/** Distinct events by event id: at-least-once publishing may repeat a record, never its id. */
function distinctEvents(outputs: readonly ObservedMessage[], topic: string): ObservedMessage[] {
  const byId = new Map<string, ObservedMessage>();
  for (const message of outputs) {
    if (message.topic !== topic || !message.value) continue;
    const id = String(message.value['event_id']);
    const first = byId.get(id);
    if (!first || message.timestampMs < first.timestampMs) byId.set(id, message);
  }
  return [...byId.values()];
}

export async function readDatabaseSnapshot(sql: Sql, batchIds: readonly string[]): Promise<DatabaseSnapshot> {
  const ids = [...batchIds];
  const slots = await sql<DatabaseSnapshot['slots']>`
    select batch_id, essay_id, status, text_storage_id from essay_states where batch_id = any(${ids})`;
  const excess = await sql<DatabaseSnapshot['excess']>`
    select batch_id, text_storage_id from excess_reports where batch_id = any(${ids})`;
  const pending = await sql<DatabaseSnapshot['pending']>`
    select batch_id, text_storage_id from pending_content where batch_id = any(${ids})`;
  const [outbox] = await sql<
    { n: number }[]
  >`select count(*)::int as n from outbox where published_at is null`;
  return {
    slots: [...slots],
    excess: [...excess],
    pending: [...pending],
    unpublishedOutboxRows: outbox?.n ?? 0,
  };
}

export function checkRun(input: CheckInput): CheckResult {
  const { sent, expectations, outputs, db } = input;
  const delivered = sent.filter((line) => line.rejected === undefined);
  const expectationOf = new Map(expectations.map((e) => [e.batchId, e]));
  const lost = new Set<string>();
  const duplicated = new Set<string>();
  const unexpected = new Set<string>();

  // What was sent: distinct texts per batch, first send time of each text, registration send times.
  const firstSent = new Map<string, number>();
  const registeredAt = new Map<string, number>();
  const lastInputOfBatch = new Map<string, number>();
  for (const line of delivered) {
    if ((line.kind === 'content' || line.kind === 'duplicate') && line.textStorageId) {
      const k = key(line.batchId, line.textStorageId);
      if (!firstSent.has(k)) firstSent.set(k, line.sentAtMs);
    }
    if (line.kind === 'registration') registeredAt.set(line.batchId, line.sentAtMs);
    if (line.kind !== 'malformed') {
      lastInputOfBatch.set(line.batchId, Math.max(lastInputOfBatch.get(line.batchId) ?? 0, line.sentAtMs));
    }
  }

  // The database: which slot holds which text, excess reports, pending content.
  const slotsOfText = new Map<string, string[]>();
  const freeSlots = new Map<string, number>();
  const assignedOfBatch = new Map<string, number>();
  for (const slot of db.slots) {
    if (slot.status === 'uploaded') freeSlots.set(slot.batch_id, (freeSlots.get(slot.batch_id) ?? 0) + 1);
    if (slot.text_storage_id === null) continue;
    assignedOfBatch.set(slot.batch_id, (assignedOfBatch.get(slot.batch_id) ?? 0) + 1);
    const k = key(slot.batch_id, slot.text_storage_id);
    slotsOfText.set(k, [...(slotsOfText.get(k) ?? []), slot.essay_id]);
  }
  const excessInDb = new Map<string, number>();
  for (const row of db.excess) {
    const k = key(row.batch_id, row.text_storage_id);
    excessInDb.set(k, (excessInDb.get(k) ?? 0) + 1);
  }
  const pendingInDb = new Set(db.pending.map((row) => key(row.batch_id, row.text_storage_id)));

  // The output topics, one entry per distinct event id.
  const assignedEvents = distinctEvents(outputs, TOPICS.essaySlotAssigned);
  const excessEvents = distinctEvents(outputs, TOPICS.excessContentProvisioned);
  const completionEvents = distinctEvents(outputs, TOPICS.batchContentProvisioningCompleted);
  const announced = new Map<string, ObservedMessage[]>();
  for (const event of assignedEvents) {
    const k = key(String(data(event)['batch_id']), String(data(event)['text_storage_id']));
    announced.set(k, [...(announced.get(k) ?? []), event]);
  }
  const excessAnnounced = new Map<string, number>();
  for (const event of excessEvents) {
    const k = key(String(data(event)['batch_id']), String(data(event)['text_storage_id']));
    excessAnnounced.set(k, (excessAnnounced.get(k) ?? 0) + 1);
  }

  // Every distinct text ends in exactly one defined state (invariant 3), announced once (invariant 5).
  for (const k of firstSent.keys()) {
    const batchId = k.slice(0, k.indexOf('/'));
    const registered = expectationOf.get(batchId)?.registrationSent ?? false;
    const slots = slotsOfText.get(k)?.length ?? 0;
    const excess = excessInDb.get(k) ?? 0;
    const states = (slots > 0 ? 1 : 0) + (excess > 0 ? 1 : 0) + (pendingInDb.has(k) && registered ? 1 : 0);
    if (!registered) {
      if (!pendingInDb.has(k)) lost.add(`${k} (not pending although its batch was never registered)`);
      if (slots > 0 || excess > 0) unexpected.add(`${k} (resolved although its batch was never registered)`);
      continue;
    }
    if (states === 0) lost.add(`${k} (neither assigned, excess nor pending)`);
    if (pendingInDb.has(k)) lost.add(`${k} (stranded as pending after registration)`);
    if (slots > 1) duplicated.add(`${k} (held by ${slots} slots)`);
    if (slots > 0 && excess > 0) duplicated.add(`${k} (both assigned and excess)`);
    const events = announced.get(k)?.length ?? 0;
    if (slots > 0 && events === 0) lost.add(`${k} (assigned but no slot-assigned event)`);
    if (events > 1) duplicated.add(`${k} (${events} slot-assigned events)`);
    const excessEventsOfText = excessAnnounced.get(k) ?? 0;
    if (excess > 0 && excessEventsOfText === 0) lost.add(`${k} (excess but no excess event)`);
    if (excessEventsOfText > 1) duplicated.add(`${k} (${excessEventsOfText} excess events)`);
  }
  for (const k of [...slotsOfText.keys(), ...announced.keys(), ...excessAnnounced.keys()]) {
    if (!firstSent.has(k)) unexpected.add(`${k} (never sent)`);
  }

  // One completion per complete batch, none for the others (invariant 4), listing every assigned essay.
  const completionsPerBatch: Record<string, number> = {};
  const completionErrors: string[] = [];
  const completionHistogram = createLatencyHistogram();
  for (const expectation of expectations) completionsPerBatch[expectation.batchId] = 0;
  for (const event of completionEvents) {
    const batchId = String(data(event)['batch_id']);
    if (!(batchId in completionsPerBatch)) unexpected.add(`${batchId} (completion of a batch never sent)`);
    completionsPerBatch[batchId] = (completionsPerBatch[batchId] ?? 0) + 1;
    const essays = (data(event)['essays_for_processing'] as { essay_id: string }[] | undefined) ?? [];
    const inDb = assignedOfBatch.get(batchId) ?? 0;
    if (essays.length !== inDb) {
      completionErrors.push(`${batchId}: completion lists ${essays.length} essays, database holds ${inDb}`);
    }
    const last = lastInputOfBatch.get(batchId);
    if (last !== undefined) completionHistogram.record(event.timestampMs - last);
  }
  for (const expectation of expectations) {
    const count = completionsPerBatch[expectation.batchId] ?? 0;
    const wanted = expectation.completionExpected ? 1 : 0;
    if (count > 1) duplicated.add(`${expectation.batchId} (${count} completion events)`);
    if (count !== wanted) {
      completionErrors.push(`${expectation.batchId}: ${count} completion events, expected ${wanted}`);
    }
  }

  // Excess while a slot is still free would be invariant 2's failure. In an over-full batch a later text
  // may take the slot a false excess left, so the number assigned is checked against the plan too: fewer
  // than the plan's minimum means texts were turned away while slots could have held them.
  const falseExcess: string[] = [];
  for (const [k] of excessInDb) {
    const batchId = k.slice(0, k.indexOf('/'));
    if ((freeSlots.get(batchId) ?? 0) > 0)
      falseExcess.push(`${k} (batch has ${freeSlots.get(batchId)} free slots)`);
  }
  for (const expectation of expectations) {
    const assigned = assignedOfBatch.get(expectation.batchId) ?? 0;
    const { min, max } = expectation.assigned;
    if (assigned < min || assigned > max) {
      falseExcess.push(`${expectation.batchId} (${assigned} texts assigned, the plan allows ${min}–${max})`);
    }
  }

  // Dead letters: one per malformed message, matched by event id header or position.
  const malformed = delivered.filter((line) => line.kind === 'malformed');
  const letters = outputs.filter((message) => message.topic === TOPICS.deadLetter);
  const distinctLetters = new Set(
    letters.map(
      (l) =>
        `${l.headers['x-els-source-topic']}:${l.headers['x-els-source-partition']}:${l.headers['x-els-source-offset']}`,
    ),
  );
  const deadLetterErrors: string[] = [];
  if (distinctLetters.size !== malformed.length) {
    deadLetterErrors.push(`${distinctLetters.size} dead letters for ${malformed.length} malformed messages`);
  }

  // Latency: produce → slot-assigned event (from the later of the text's and its registration's send).
  const histogram = createLatencyHistogram();
  const latencySeries: LatencyPoint[] = [];
  for (const event of assignedEvents) {
    const batchId = String(data(event)['batch_id']);
    const k = key(batchId, String(data(event)['text_storage_id']));
    const sentAt = firstSent.get(k);
    if (sentAt === undefined) continue;
    const from = Math.max(sentAt, registeredAt.get(batchId) ?? sentAt);
    const latencyMs = event.timestampMs - from;
    histogram.record(latencyMs);
    latencySeries.push({ atMs: from, latencyMs });
  }
  latencySeries.sort((a, b) => a.atMs - b.atMs);

  const resolvedTimes = [...assignedEvents, ...excessEvents].map((event) => event.timestampMs);
  const firstSend = delivered.length > 0 ? Math.min(...delivered.map((line) => line.sentAtMs)) : 0;
  const lastResolved = resolvedTimes.length > 0 ? Math.max(...resolvedTimes) : firstSend;
  const resolvedTexts = assignedEvents.length + excessEvents.length;
  const elapsedS = Math.max(0.001, (lastResolved - firstSend) / 1000);

  return {
    sent: delivered.length,
    assigned: [...slotsOfText.values()].reduce((n, essays) => n + essays.length, 0),
    excess: excessInDb.size,
    deadLetters: distinctLetters.size,
    malformedSent: malformed.length,
    lost: [...lost].sort(),
    duplicated: [...duplicated].sort(),
    unexpected: [...unexpected].sort(),
    falseExcess: falseExcess.sort(),
    completionsPerBatch,
    completionErrors,
    deadLetterErrors,
    throughputPerSec: Math.round((resolvedTexts / elapsedS) * 10) / 10,
    latencyMs: histogram.summary(),
    completionLatencyMs: completionHistogram.summary(),
    latencySeries,
    unpublishedOutboxRows: db.unpublishedOutboxRows,
  };
}

/** The part of a result that must be empty or zero for a correct run, as one object for a readable diff. */
export function violations(result: CheckResult) {
  return {
    lost: result.lost,
    duplicated: result.duplicated,
    unexpected: result.unexpected,
    falseExcess: result.falseExcess,
    completionErrors: result.completionErrors,
    deadLetterErrors: result.deadLetterErrors,
  };
}

export const NO_VIOLATIONS = {
  lost: [],
  duplicated: [],
  unexpected: [],
  falseExcess: [],
  completionErrors: [],
  deadLetterErrors: [],
};
