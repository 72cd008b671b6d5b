import { TOPICS } from '@els/contracts';
import type { ObservedMessage } from '@els/harness';
import type { BatchExpectation, SentLogLine } from '@els/workload';
import { createLatencyHistogram, type LatencySummary } from './latency-histogram';

import { checkAssignments } from './assignment-check';
import { attributeAssignments, originOf, type Attribution } from './attribution';
import { checkCompletions } from './completion-check';
import { checkDeadLetters, type DeadLetterReplay } from './dead-letter-check';
import { checkExcessRecords, checkFalseExcess } from './excess-check';
import { checkRecordFields, type OutputPartitions } from './record-fields-check';
import type { DatabaseSnapshot } from '../history/database-snapshot';
import { checkEventIdPayloads, indexHistory } from '../history/history-index';
import { checkValidationFailures } from './validation-failure-check';

/**
 * The checker: judges the history of a run — what the generator sent (its sent log and expectations) and
 * every record the output topics carried — with the database as a second witness, and names every
 * difference. Each family of checks lives in a module of its own; this one composes them. A correct run
 * has every set of `violations()` empty.
 */

export type { DatabaseSnapshot } from '../history/database-snapshot';

export interface CheckInput {
  sent: readonly SentLogLine[];
  expectations: readonly BatchExpectation[];
  outputs: readonly ObservedMessage[];
  db: DatabaseSnapshot;
  /** Set by a run that refuses texts on purpose and replays its dead letters (scenario 9). */
  replay?: DeadLetterReplay;
  /** Partition counts of the output topics: each record must sit on its key's partition. */
  outputPartitions?: OutputPartitions;
}

export interface LatencyPoint {
  /** Send time of the text, ms since epoch. */
  atMs: number;
  latencyMs: number;
  /** The replica that assigned the slot (the record's origin header), when known. */
  replica?: string;
}

export interface CheckResult {
  sent: number;
  assigned: number;
  excess: number;
  deadLetters: number;
  malformedSent: number;
  /** Dead letters of replayed records (a replayed malformed input is dead-lettered again). */
  replayLetters: number;
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
  /**
   * Dead letters matched to their inputs by source topic/partition/offset: a dead letter of valid input,
   * of nothing sent, or with the wrong code; a malformed message with none.
   */
  deadLetterErrors: string[];
  /** Slot-assigned records that are not a database slot row holding a sent text, or slots without a record. */
  assignmentErrors: string[];
  /** Excess records that are not a database excess row of a sent text holding no slot, or rows without one. */
  excessErrors: string[];
  /** Validation failures recorded other than once, or resolving other than one free slot. */
  validationFailureErrors: string[];
  /** Records sharing an event id but not a payload. */
  eventIdErrors: string[];
  /**
   * Fields of output records that do not match their cause: envelope, deterministic id, Kafka key and
   * partition, headers, data against the content or registration sent, the published JSON Schema.
   */
  fieldErrors: string[];
  /**
   * Not a violation: texts whose send took more than one attempt (an earlier attempt failed or timed out,
   * so its outcome was indeterminate) and that took effect all the same, once.
   */
  recovered: string[];
  /** Which replica assigned what (from the records' origin headers). */
  attribution: Attribution;
  throughputPerSec: number;
  latencyMs: LatencySummary;
  completionLatencyMs: LatencySummary;
  /** Each completion's latency, at the send of its batch's last input (for thresholds after warm-up). */
  completionSeries: LatencyPoint[];
  latencySeries: LatencyPoint[];
  unpublishedOutboxRows: number;
  /** Distinct texts sent, and those of them that did not end in exactly one defined state (lost or doubled). */
  textsSent: number;
  textsFailed: number;
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

export function checkRun(input: CheckInput): CheckResult {
  const { expectations, outputs, db } = input;
  const index = indexHistory(input);
  const { delivered } = index;
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
  for (const slot of db.slots) {
    if (slot.text_storage_id === null) continue;
    const k = key(slot.batch_id, slot.text_storage_id);
    slotsOfText.set(k, [...(slotsOfText.get(k) ?? []), slot.essay_id]);
  }
  const excessInDb = new Map<string, number>();
  for (const row of db.excess) {
    const k = key(row.batch_id, row.text_storage_id);
    excessInDb.set(k, (excessInDb.get(k) ?? 0) + 1);
  }
  const pendingInDb = new Set(db.pending.map((row) => key(row.batch_id, row.text_storage_id)));

  // The output topics, one entry per distinct event id (records sharing one carry one payload: eventIdErrors).
  const assignedEvents = distinctEvents(outputs, TOPICS.essaySlotAssigned);
  const excessEvents = distinctEvents(outputs, TOPICS.excessContentProvisioned);
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

  // One completion per complete batch, none for the others (invariant 4), counted per Kafka record.
  const completions = checkCompletions(index, expectations);
  for (const entry of completions.duplicated) duplicated.add(entry);
  for (const entry of completions.unexpected) unexpected.add(entry);
  const completionHistogram = createLatencyHistogram();
  const completionSeries: LatencyPoint[] = [];
  for (const event of completions.completions) {
    const last = lastInputOfBatch.get(String(data(event)['batch_id']));
    if (last === undefined) continue;
    completionHistogram.record(event.timestampMs - last);
    completionSeries.push({ atMs: last, latencyMs: event.timestampMs - last });
  }
  completionSeries.sort((a, b) => a.atMs - b.atMs);

  const falseExcess = checkFalseExcess(index, expectations);
  const deadLetters = checkDeadLetters(index, input.replay);

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
    const replica = originOf(event);
    latencySeries.push({ atMs: from, latencyMs, ...(replica ? { replica } : {}) });
  }
  latencySeries.sort((a, b) => a.atMs - b.atMs);

  // Sends retried after an indeterminate failure whose text took effect (assigned or excess).
  const recovered = new Set<string>();
  for (const line of delivered) {
    if (line.attempts <= 1 || line.textStorageId === null) continue;
    const k = key(line.batchId, line.textStorageId);
    if (slotsOfText.has(k) || excessInDb.has(k)) recovered.add(`${k} (sent in ${line.attempts} attempts)`);
  }

  const resolvedTimes = [...assignedEvents, ...excessEvents].map((event) => event.timestampMs);
  const firstSend = delivered.length > 0 ? Math.min(...delivered.map((line) => line.sentAtMs)) : 0;
  const lastResolved = resolvedTimes.length > 0 ? Math.max(...resolvedTimes) : firstSend;
  const resolvedTexts = assignedEvents.length + excessEvents.length;
  const elapsedS = Math.max(0.001, (lastResolved - firstSend) / 1000);
  const textOf = (entry: string) => entry.slice(0, entry.indexOf(' ('));
  const failedTexts = new Set([...lost, ...duplicated].map(textOf).filter((k) => firstSent.has(k)));

  return {
    sent: delivered.length,
    assigned: [...slotsOfText.values()].reduce((n, essays) => n + essays.length, 0),
    excess: excessInDb.size,
    deadLetters: deadLetters.deadLetters,
    malformedSent: deadLetters.malformedSent,
    replayLetters: deadLetters.replayLetters,
    lost: [...lost].sort(),
    duplicated: [...duplicated].sort(),
    unexpected: [...unexpected].sort(),
    falseExcess,
    completionsPerBatch: completions.completionsPerBatch,
    completionErrors: completions.completionErrors,
    deadLetterErrors: deadLetters.deadLetterErrors,
    assignmentErrors: checkAssignments(index),
    excessErrors: checkExcessRecords(index),
    validationFailureErrors: checkValidationFailures(index, db.validationFailures),
    eventIdErrors: checkEventIdPayloads(index),
    fieldErrors: checkRecordFields(index, input.outputPartitions),
    recovered: [...recovered].sort(),
    attribution: attributeAssignments(assignedEvents),
    throughputPerSec: Math.round((resolvedTexts / elapsedS) * 10) / 10,
    latencyMs: histogram.summary(),
    completionLatencyMs: completionHistogram.summary(),
    completionSeries,
    latencySeries,
    unpublishedOutboxRows: db.unpublishedOutboxRows,
    textsSent: firstSent.size,
    textsFailed: failedTexts.size,
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
    assignmentErrors: result.assignmentErrors,
    excessErrors: result.excessErrors,
    validationFailureErrors: result.validationFailureErrors,
    eventIdErrors: result.eventIdErrors,
    fieldErrors: result.fieldErrors,
  };
}

/** The sets of `violations()` beyond Jepsen's lost, duplicated and unexpected, by name (for the report). */
export function checkSets(result: CheckResult): Record<string, string[]> {
  const { lost: _lost, duplicated: _duplicated, unexpected: _unexpected, ...rest } = violations(result);
  return rest;
}

export const NO_VIOLATIONS = {
  lost: [],
  duplicated: [],
  unexpected: [],
  falseExcess: [],
  completionErrors: [],
  deadLetterErrors: [],
  assignmentErrors: [],
  excessErrors: [],
  validationFailureErrors: [],
  eventIdErrors: [],
  fieldErrors: [],
};
