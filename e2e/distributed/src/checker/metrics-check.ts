import { TOPICS, type BaseTopic } from '@els/contracts';
import type { ObservedMessage, ProcessReading } from '@els/harness';
import { originOf } from './attribution';
import { eventIdOf } from '../history/history-index';

/**
 * The replicas' Prometheus counters against the history, per replica and in total: what users watch on a
 * dashboard must say what happened. Slot assignments, excess reports and completions are counted per
 * replica from the records' `x-els-origin` header (the replica whose transaction wrote them), dead letters
 * per error code over all replicas. A replica whose every process was read after the run settled must
 * match exactly; one that lost a process (killed, restarted) before its last increments were read can only
 * be held to a lower bound, and the result says which replicas could not be counted.
 */

export interface MetricsCheck {
  errors: string[];
  /** Replicas (and why) whose counters are a lower bound only. */
  uncounted: string[];
}

type Counted = 'slotAssignments' | 'excess' | 'completions';

const COUNTED: ReadonlyArray<{ counter: Counted; metric: string; topic: BaseTopic }> = [
  { counter: 'slotAssignments', metric: 'els_slot_assignments_total', topic: TOPICS.essaySlotAssigned },
  { counter: 'excess', metric: 'els_excess_reports_total', topic: TOPICS.excessContentProvisioned },
  {
    counter: 'completions',
    metric: 'els_batch_completions_total',
    topic: TOPICS.batchContentProvisioningCompleted,
  },
];

/** Distinct events of a topic (by event id) per replica that wrote them. */
function byOrigin(records: readonly ObservedMessage[]): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const record of records) {
    const id = eventIdOf(record);
    if (seen.has(id)) continue;
    seen.add(id);
    const origin = originOf(record) ?? 'unknown';
    counts.set(origin, (counts.get(origin) ?? 0) + 1);
  }
  return counts;
}

function sumOf(readings: readonly ProcessReading[], counter: Counted): number {
  return readings.reduce((total, reading) => total + reading.counters[counter], 0);
}

/**
 * The fault windows that cut a replica's database sessions while it worked: a PostgreSQL fault (crash,
 * restart, read-only with its ended sessions) cuts every replica's, a network fault toward PostgreSQL that
 * replica's. A transaction whose COMMIT reached the server just before the cut committed while its replica
 * saw an error; the retry finds the work done and counts a duplicate, so the record (written by that
 * replica) has no increment. Keyed by instance id, `*` for every replica; the values name the windows.
 */
export function databaseCuts(
  faults: ReadonlyArray<{ label: string; family?: string; instanceId?: string; skipped?: string }>,
): Map<string, string[]> {
  const cuts = new Map<string, string[]>();
  for (const fault of faults) {
    if (fault.skipped) continue;
    const key =
      fault.family === 'postgres' ? '*' : fault.family === 'network-postgres' ? fault.instanceId : undefined;
    if (key !== undefined) cuts.set(key, [...(cuts.get(key) ?? []), fault.label]);
  }
  return cuts;
}

export function checkMetrics(
  outputs: readonly ObservedMessage[],
  readings: readonly ProcessReading[],
  cuts: ReadonlyMap<string, readonly string[]> = new Map(),
): MetricsCheck {
  const recordsOf = (topic: BaseTopic) => outputs.filter((record) => record.topic === topic);
  const errors: string[] = [];
  const uncounted: string[] = [];
  const processesOf = new Map<string, ProcessReading[]>();
  for (const reading of readings) {
    processesOf.set(reading.instanceId, [...(processesOf.get(reading.instanceId) ?? []), reading]);
  }
  const cutsOf = (instance: string) => [...(cuts.get('*') ?? []), ...(cuts.get(instance) ?? [])];
  const complete = (instance: string) =>
    (processesOf.get(instance) ?? []).every((r) => r.complete) && cutsOf(instance).length === 0;
  for (const [instance, processes] of processesOf) {
    const partial = processes.filter((reading) => !reading.complete);
    if (partial.length > 0) {
      uncounted.push(
        `${instance}: ${partial.length} of ${processes.length} processes ended before a reading after the run settled (${partial.map((r) => r.process).join(', ')})`,
      );
    }
    if (cutsOf(instance).length > 0) {
      uncounted.push(
        `${instance}: its database sessions were cut (${cutsOf(instance).join('; ')}), so a commit it never learned of counts as a duplicate on its retry`,
      );
    }
  }
  for (const { counter, metric, topic } of COUNTED) {
    const history = byOrigin(recordsOf(topic));
    const instances = new Set([...processesOf.keys(), ...[...history.keys()].filter((i) => i !== 'unknown')]);
    for (const instance of [...instances].sort()) {
      const counted = sumOf(processesOf.get(instance) ?? [], counter);
      const happened = history.get(instance) ?? 0;
      const exact = processesOf.has(instance) && complete(instance);
      if (exact ? counted !== happened : counted > happened) {
        errors.push(
          `${instance}: ${metric} ${counted}, its records on ${topic} ${happened}${exact ? '' : ' (a lower bound: at most that many)'}`,
        );
      }
    }
  }
  // Dead letters: every letter published increments its replica's counter once; an input dead-lettered
  // again (a redelivery after a crash, a replay) is another letter.
  const letters = recordsOf(TOPICS.deadLetter);
  const recordsByCode = new Map<string, number>();
  const inputsByCode = new Map<string, Set<string>>();
  for (const letter of letters) {
    const code = letter.headers['x-els-error-code'] ?? 'unknown';
    recordsByCode.set(code, (recordsByCode.get(code) ?? 0) + 1);
    const source = `${letter.headers['x-els-source-topic']}/${letter.headers['x-els-source-partition']}/${letter.headers['x-els-source-offset']}`;
    inputsByCode.set(code, (inputsByCode.get(code) ?? new Set()).add(source));
  }
  const counted = new Map<string, number>();
  for (const reading of readings) {
    for (const [code, value] of Object.entries(reading.counters.deadLetters)) {
      counted.set(code, (counted.get(code) ?? 0) + value);
    }
  }
  const allComplete = readings.every(
    (reading) => reading.complete && cutsOf(reading.instanceId).length === 0,
  );
  for (const code of [...new Set([...recordsByCode.keys(), ...counted.keys()])].sort()) {
    const value = counted.get(code) ?? 0;
    const records = recordsByCode.get(code) ?? 0;
    const inputs = inputsByCode.get(code)?.size ?? 0;
    if (value > records) {
      errors.push(
        `els_dead_letters_total{code="${code}"} ${value}, more than the ${records} letters on the topic`,
      );
    } else if (allComplete && value < inputs) {
      errors.push(
        `els_dead_letters_total{code="${code}"} ${value}, fewer than the ${inputs} inputs dead-lettered`,
      );
    }
  }
  return { errors, uncounted };
}
