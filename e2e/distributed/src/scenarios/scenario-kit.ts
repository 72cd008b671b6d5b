import { waitFor } from '@els/test-kit';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { batchesFilledByFewReplicas } from '../checker/attribution';
import { checkSets, violations } from '../checker/run-checker';
import type { WorkerCluster } from '@els/harness';
import type { ScenarioReport } from '../report/run-report';
import { SCENARIO_NAMES, type RunSettings } from './run-settings';
import {
  runWorkload,
  type LoadContext,
  type WorkloadRunOptions,
  type WorkloadRunResult,
} from './workload-run';
import type { WorkloadOptionsInput } from '@els/workload';
import {
  checkProgress,
  progressBounds,
  PROGRESS_SETTING_KEYS,
  type ProgressFault,
  type ProgressWindow,
} from '../checker/progress-check';
import { readReplicaSettings } from '../history/replica-configuration';
import type { ScheduledFault } from '../nemesis/fault-schedule';

/**
 * What every scenario of docs/guides/testing.md shares (one file per scenario beside this one). Each returns its report entry and the list of what went wrong beyond the
 * checker's sets (an empty `problems` list and empty checker sets mean the scenario passed).
 */

export interface ScenarioOutcome {
  report: ScenarioReport;
  /** Everything that must be empty for a pass, as one object for a readable jest diff. */
  problems: Record<string, string[]>;
}

export interface ScenarioEnvironment {
  settings: RunSettings;
  reportDir: string;
  onSpawn: (child: ChildProcess) => void;
}

export type Runner = (env: ScenarioEnvironment) => Promise<ScenarioOutcome>;

export const pick = <T>(settings: RunSettings, ci: T, full: T): T => (settings.profile === 'ci' ? ci : full);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function baseOptions(env: ScenarioEnvironment, id: number, replicas = env.settings.instances) {
  const label = `s${id}-${SCENARIO_NAMES[id]}-${replicas}r`;
  return {
    label,
    replicas,
    seed: env.settings.seed,
    logDir: path.join(env.reportDir, 'logs', label),
    onSpawn: env.onSpawn,
    settleTimeoutMs: 90_000,
    driver: env.settings.driver,
    ratePerSec: 0,
    durationMs: 0,
    waves: 1,
  };
}

export function toReport(id: number, run: WorkloadRunResult, extraNotes: string[] = []): ScenarioReport {
  const { check } = run;
  return {
    id,
    name: SCENARIO_NAMES[id] ?? String(id),
    passed: false,
    pids: run.pids,
    ...(run.containers.length > 0 ? { containers: run.containers } : {}),
    sent: check.sent,
    assigned: check.assigned,
    excess: check.excess,
    deadLetters: check.deadLetters,
    lost: check.lost,
    duplicated: check.duplicated,
    unexpected: check.unexpected,
    completionsPerBatch: check.completionsPerBatch,
    throughputPerSec: check.throughputPerSec,
    latencyMs: {
      p50: check.latencyMs.p50,
      p95: check.latencyMs.p95,
      p99: check.latencyMs.p99,
      max: check.latencyMs.max,
    },
    completionLatencyMs: {
      p50: check.completionLatencyMs.p50,
      p95: check.completionLatencyMs.p95,
      p99: check.completionLatencyMs.p99,
      max: check.completionLatencyMs.max,
    },
    falseExcess: check.falseExcess,
    recovered: check.recovered,
    assignedByReplica: check.attribution.assignedByReplica,
    checks: checkSets(check),
    faults: run.faults,
    logs: [run.mergedLog],
    latencySeries: check.latencySeries,
    measurements: run.measurements,
    notes: [...run.notes, ...extraNotes],
  };
}

/** Scenarios whose point is replicas racing each other: at least three of them must take part. */
const SPREAD_SCENARIOS: ReadonlySet<number> = new Set([1, 2, 3, 4]);

/**
 * Scenarios whose batches must be filled by more than one replica (read from the origin header of each
 * slot-assigned record), so that "filled from different replicas" is verified rather than assumed: they
 * fail when no batch of the run was.
 */
const CONTENDED_SCENARIOS: ReadonlySet<number> = new Set([2, 4]);

/**
 * Checker violations plus the run-level conditions every scenario shares. `minReplicasAtWork`: how many
 * replicas must have consumed input events (scenarios about concurrency across replicas are only
 * meaningful when the replicas really shared the work).
 */
export function commonProblems(run: WorkloadRunResult, minReplicasAtWork: number): Record<string, string[]> {
  const atWork = run.consumedByReplica.filter((count) => count > 0).length;
  return {
    ...violations(run.check),
    unpublishedOutbox:
      run.check.unpublishedOutboxRows > 0
        ? [`${run.check.unpublishedOutboxRows} outbox rows never published`]
        : [],
    unexpectedExits: run.unexpectedExits,
    metrics: run.metrics.errors,
    replicas:
      atWork < minReplicasAtWork
        ? [
            `${atWork} replicas consumed input events (${run.consumedByReplica.join(', ')}), expected at least ${minReplicasAtWork}`,
          ]
        : [],
  };
}

/**
 * The contention problem: every batch of the run filled by a single replica. One such batch can happen by
 * chance (random keys put most of its texts on one replica's partitions); all of them means the replicas
 * never raced for one batch, and the scenario proved nothing.
 */
function uncontended(run: WorkloadRunResult): string[] {
  const few = batchesFilledByFewReplicas(run.check.attribution, 2);
  const batches = Object.keys(run.check.attribution.replicasPerBatch).length;
  return batches > 0 && few.length === batches ? few : [];
}

/** What a scenario tells the progress check about its fault windows beyond their labels. */
export interface FaultDescriptions {
  /** The schedule the nemesis ran: each window's kind and target replica, by label. */
  schedule?: readonly ScheduledFault[];
  /** Kinds of windows a scenario records itself, by label (scenario 5: `Redis stopped`). */
  kinds?: Readonly<Record<string, string>>;
}

/** A note of the nemesis: the replica a fault was drawn for was busy, so it acted on another. */
const SUBSTITUTED = /^(.*): r(\d+) was not running or under another fault; used r(\d+)$/;

/**
 * The run's fault windows with their kind and target replica (instance id): from fields of the window
 * itself when the nemesis recorded them, else from the schedule entry of the same label (the n-th window
 * of a label is the n-th entry), the replica the nemesis really used when its notes say it moved.
 */
export function describeFaults(run: WorkloadRunResult, described: FaultDescriptions): ProgressFault[] {
  const seen = new Map<string, number>();
  return run.faults.map((window) => {
    const own = window as typeof window & {
      kind?: unknown;
      replica?: unknown;
      instanceId?: unknown;
      dependency?: unknown;
      skipped?: unknown;
    };
    const nth = seen.get(window.label) ?? 0;
    seen.set(window.label, nth + 1);
    const planned = (described.schedule ?? []).filter((fault) => fault.label === window.label)[nth];
    const kind =
      typeof own.kind === 'string'
        ? own.kind
        : (planned?.kind ?? described.kinds?.[window.label] ?? 'unknown');
    let index = typeof own.replica === 'number' ? own.replica : planned?.replica;
    const moved = run.notes.map((note) => SUBSTITUTED.exec(note)).find((m) => m?.[1] === window.label);
    if (moved && typeof own.replica !== 'number') index = Number(moved[3]) - 1;
    const replica =
      typeof own.instanceId === 'string'
        ? own.instanceId
        : index === undefined
          ? undefined
          : run.replicaIds[index];
    const dependency = typeof own.dependency === 'string' ? own.dependency : planned?.dependency;
    return {
      label: window.label,
      kind,
      ...(replica === undefined ? {} : { replica }),
      ...(dependency === undefined ? {} : { dependency }),
      startMs: window.startMs,
      endMs: window.endMs,
      ...(typeof own.skipped === 'string' ? { skipped: own.skipped } : {}),
    };
  });
}

/**
 * The progress check of a run with fault windows: each window's stall against the bound derived from the
 * configuration the replicas logged at start. No windows: nothing to judge.
 */
export function judgeProgress(
  run: WorkloadRunResult,
  described: FaultDescriptions,
): { windows: ProgressWindow[]; problems: string[] } {
  if (run.faults.length === 0) return { windows: [], problems: [] };
  const settings = readReplicaSettings(run.logDir, PROGRESS_SETTING_KEYS);
  if (typeof settings === 'string') {
    return { windows: [], problems: [`progress not judged: ${settings}`] };
  }
  return checkProgress({
    ...run.progressHistory,
    faults: describeFaults(run, described),
    bounds: progressBounds(settings),
  });
}

export function outcome(
  id: number,
  run: WorkloadRunResult,
  extra: Record<string, string[]> = {},
  notes: string[] = [],
  described: FaultDescriptions = {},
) {
  const report = toReport(id, run, notes);
  const progress = judgeProgress(run, described);
  if (progress.windows.length > 0) report.progress = progress.windows;
  const spread = SPREAD_SCENARIOS.has(id) ? Math.min(3, new Set(run.pids).size) : 0;
  const contended = CONTENDED_SCENARIOS.has(id) && run.consumedByReplica.length >= 2;
  const problems: Record<string, string[]> = {
    ...commonProblems(run, spread),
    ...(contended ? { contention: uncontended(run) } : {}),
    ...(run.faults.length > 0 ? { progress: progress.problems } : {}),
    ...extra,
  };
  report.passed = Object.values(problems).every((list) => list.length === 0);
  return { report, problems };
}

/**
 * Every scenario that registers batches also redelivers each registration twice (once byte for byte, once
 * under a new event id): the worker must acknowledge both without a second set of slots (invariant 8).
 */
export const REGISTRATION_REDELIVERIES = 2;

export function withRedeliveries(workload: WorkloadOptionsInput): WorkloadOptionsInput {
  return { registrationRedeliveries: REGISTRATION_REDELIVERIES, ...workload };
}

export async function simple(
  env: ScenarioEnvironment,
  id: number,
  overrides: Partial<WorkloadRunOptions> & Pick<WorkloadRunOptions, 'workload'>,
): Promise<WorkloadRunResult> {
  return runWorkload({
    ...baseOptions(env, id),
    ...(overrides.label ? { logDir: path.join(env.reportDir, 'logs', overrides.label) } : {}),
    ...overrides,
    workload: withRedeliveries(overrides.workload),
  });
}

/** Assigned slots in the run's database so far. */
export async function assignedSoFar(context: LoadContext): Promise<number> {
  const [row] = await context.db.sql<Array<{ n: number }>>`
    select count(*)::int as n from essay_states where status = 'ready_for_processing'`;
  return row?.n ?? 0;
}

/** Waits until the replicas have assigned `count` more slots than `from` (load is flowing through them). */
export async function waitForAssignments(context: LoadContext, from: number, count: number, what: string) {
  await waitFor(what, async () => (await assignedSoFar(context)) >= from + count, {
    timeoutMs: 60_000,
    intervalMs: 100,
  });
}

export async function waitReadyAll(cluster: WorkerCluster, notes: string[]) {
  for (const replica of cluster.replicas) {
    await cluster.waitReady(replica.index, 120_000).then(
      () => undefined,
      (error: Error) => notes.push(`${replica.instanceId}: ${error.message}`),
    );
  }
}
