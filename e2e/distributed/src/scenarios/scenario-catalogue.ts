import { waitFor } from '@els/coordination/testing';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { checkSets, violations } from '../checker/run-checker';
import { stackFaults } from '../harness/stack-control';
import { measureStatusApiLoad, statusApiLoadProblems, type StatusApiLoad } from '../harness/status-api-load';
import type { WorkerCluster } from '../harness/process-cluster';
import type { ScenarioReport } from '../report/run-report';
import { SCENARIO_NAMES, type RunSettings } from './run-settings';
import {
  runWorkload,
  type LoadContext,
  type WorkloadRunOptions,
  type WorkloadRunResult,
} from './workload-run';

/**
 * The nine scenarios of spec §6. Each returns its report entry and the list of what went wrong beyond the
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

type Runner = (env: ScenarioEnvironment) => Promise<ScenarioOutcome>;

const pick = <T>(settings: RunSettings, ci: T, full: T): T => (settings.profile === 'ci' ? ci : full);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function baseOptions(env: ScenarioEnvironment, id: number, replicas = env.settings.instances) {
  const label = `s${id}-${SCENARIO_NAMES[id]}-${replicas}r`;
  return {
    label,
    replicas,
    logDir: path.join(env.reportDir, 'logs', label),
    onSpawn: env.onSpawn,
    settleTimeoutMs: 90_000,
    ratePerSec: 0,
    durationMs: 0,
    waves: 1,
  };
}

function toReport(id: number, run: WorkloadRunResult, extraNotes: string[] = []): ScenarioReport {
  const { check } = run;
  return {
    id,
    name: SCENARIO_NAMES[id] ?? String(id),
    passed: false,
    pids: run.pids,
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
    checks: checkSets(check),
    faults: run.faults,
    latencySeries: check.latencySeries,
    notes: [...run.notes, ...extraNotes],
  };
}

/** Scenarios whose point is replicas racing each other: at least three of them must take part. */
const SPREAD_SCENARIOS: ReadonlySet<number> = new Set([1, 2, 3, 4]);

/**
 * Checker violations plus the run-level conditions every scenario shares. `minReplicasAtWork`: how many
 * replicas must have consumed input events (scenarios about concurrency across replicas are only
 * meaningful when the replicas really shared the work).
 */
function commonProblems(run: WorkloadRunResult, minReplicasAtWork: number): Record<string, string[]> {
  const atWork = run.consumedByReplica.filter((count) => count > 0).length;
  return {
    ...violations(run.check),
    unpublishedOutbox:
      run.check.unpublishedOutboxRows > 0
        ? [`${run.check.unpublishedOutboxRows} outbox rows never published`]
        : [],
    unexpectedExits: run.unexpectedExits,
    replicas:
      atWork < minReplicasAtWork
        ? [
            `${atWork} replicas consumed input events (${run.consumedByReplica.join(', ')}), expected at least ${minReplicasAtWork}`,
          ]
        : [],
  };
}

function outcome(
  id: number,
  run: WorkloadRunResult,
  extra: Record<string, string[]> = {},
  notes: string[] = [],
) {
  const report = toReport(id, run, notes);
  const spread = SPREAD_SCENARIOS.has(id) ? Math.min(3, new Set(run.pids).size) : 0;
  const problems = { ...commonProblems(run, spread), ...extra };
  report.passed = Object.values(problems).every((list) => list.length === 0);
  return { report, problems };
}

async function simple(
  env: ScenarioEnvironment,
  id: number,
  overrides: Partial<WorkloadRunOptions> & Pick<WorkloadRunOptions, 'workload'>,
): Promise<WorkloadRunResult> {
  return runWorkload({ ...baseOptions(env, id), ...overrides });
}

const race: Runner = async (env) => {
  // 20 copies of one text, each with its own event id, on distinct partitions: every replica races.
  const run = await simple(env, 1, {
    workload: {
      batches: 1,
      slots: 1,
      texts: 1,
      duplicateRatio: 1,
      duplicateConcurrency: 20,
      duplicateMode: 'fresh',
    },
    waves: pick(env.settings, 3, 10),
  });
  const waves = run.produced.summary.waves;
  const extra = {
    assignments: run.check.assigned === waves ? [] : [`${run.check.assigned} assignments for ${waves} texts`],
  };
  return outcome(1, run, extra);
};

const crossInstance: Runner = async (env) => {
  const run = await simple(env, 2, { workload: { batches: 1, slots: 6 }, waves: pick(env.settings, 3, 10) });
  const expected = 6 * run.produced.summary.waves;
  return outcome(2, run, {
    assignments:
      run.check.assigned === expected ? [] : [`${run.check.assigned} assignments, expected ${expected}`],
  });
};

const completion: Runner = async (env) => {
  // Nine texts and one validation failure fill ten slots: the failure must count towards completion.
  // Once settled, the status API of those batches is loaded through nginx in front of every replica.
  let statusApiLoad: StatusApiLoad | undefined;
  const loadProblems: string[] = [];
  const run = await simple(env, 3, {
    workload: {
      batches: 3,
      slots: 10,
      texts: 9,
      validationFailures: 1,
      duplicateRatio: 0.2,
      duplicateConcurrency: 3,
    },
    waves: pick(env.settings, 2, 10),
    afterSettle: async (cluster, { batchIds }) => {
      try {
        statusApiLoad = await measureStatusApiLoad(cluster, {
          batchIds,
          durationS: pick(env.settings, 3, 10),
          connections: 10,
        });
        loadProblems.push(...statusApiLoadProblems(statusApiLoad));
      } catch (error) {
        loadProblems.push(`status API load: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  });
  const result = outcome(3, run, { statusApiLoad: loadProblems });
  if (statusApiLoad) result.report.statusApiLoad = statusApiLoad;
  return result;
};

const highConcurrency: Runner = async (env) => {
  const run = await simple(env, 4, {
    workload: { batches: 1, slots: 15, texts: 15, excessRatio: 1 },
    waves: pick(env.settings, 3, 10),
  });
  const waves = run.produced.summary.waves;
  return outcome(4, run, {
    assignments:
      run.check.assigned === 15 * waves ? [] : [`${run.check.assigned} assigned, expected ${15 * waves}`],
    excess: run.check.excess === 15 * waves ? [] : [`${run.check.excess} excess, expected ${15 * waves}`],
  });
};

/** Assigned slots in the run's database so far. */
async function assignedSoFar(context: LoadContext): Promise<number> {
  const [row] = await context.db.sql<Array<{ n: number }>>`
    select count(*)::int as n from essay_states where status = 'ready_for_processing'`;
  return row?.n ?? 0;
}

/** Waits until the replicas have assigned `count` more slots than `from` (load is flowing through them). */
async function waitForAssignments(context: LoadContext, from: number, count: number, what: string) {
  await waitFor(what, async () => (await assignedSoFar(context)) >= from + count, {
    timeoutMs: 60_000,
    intervalMs: 100,
  });
}

const redisConsistency: Runner = async (env) => {
  const durationS = env.settings.durationS ?? pick(env.settings, 10, 30);
  const observations: string[] = [];
  const problems: string[] = [];
  const duringLoad = async (context: LoadContext) => {
    await waitForAssignments(context, 0, 1, 'load to reach the replicas before Redis stops');
    const replicas = context.cluster.replicas.map((r) => r.index);
    await context.fault('Redis stopped', async () => {
      await stackFaults.stopRedis();
      try {
        const seen = await waitFor(
          'a replica to report Redis degraded',
          async () => {
            for (const index of replicas) {
              const readiness = await context.cluster.readiness(index).catch(() => undefined);
              if (readiness?.body?.dependencies.redis.degraded) return readiness;
            }
            return undefined;
          },
          { timeoutMs: 10_000, intervalMs: 200 },
        ).catch(() => undefined);
        if (seen)
          observations.push(`degraded reported by ${seen.body?.instanceId} with status ${seen.status}`);
        else problems.push('no replica reported Redis degraded within 10 s');
        // Keep Redis down for a few seconds and until the replicas have assigned more slots without it.
        const before = await assignedSoFar(context);
        await Promise.all([
          sleep(3000),
          waitForAssignments(context, before, 1, 'slots assigned while Redis is down').catch(() =>
            problems.push('no slot was assigned while Redis was down'),
          ),
        ]);
      } finally {
        await stackFaults.startRedis();
      }
    });
    await waitFor(
      'every replica to report Redis healthy again',
      async () => {
        for (const index of replicas) {
          const readiness = await context.cluster.readiness(index);
          if (readiness.body?.dependencies.redis.degraded !== false) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).then(
      () => observations.push('every replica healthy again after Redis returned'),
      () => problems.push('a replica still reported Redis degraded 30 s after it returned'),
    );
  };
  const run = await simple(env, 5, {
    workload: { batches: 2, slots: 20, duplicateRatio: 0.5, duplicateConcurrency: 4, duplicateMode: 'same' },
    ratePerSec: pick(env.settings, 150, 300),
    durationMs: durationS * 1000,
    duringLoad,
  });
  return outcome(5, run, { redis: problems }, observations);
};

const faults: Runner = async (env) => {
  const durationS = env.settings.durationS ?? pick(env.settings, 30, 90);
  const notes: string[] = [];
  const duringLoad = async (context: LoadContext) => {
    const { cluster } = context;
    const last = cluster.replicas.length - 1;
    await waitForAssignments(context, 0, 1, 'load to reach the replicas before the first fault');
    await context.fault('SIGKILL r1', () => cluster.kill(0));
    await sleep(1000);
    await context.fault('restart r1', () => cluster.restart(0));
    if (last >= 1) {
      await context.fault('SIGSTOP r2 (5 s)', async () => {
        cluster.pause(1);
        await sleep(5000);
        cluster.resume(1);
      });
    }
    await context.fault('PostgreSQL restart', () => stackFaults.restartPostgres());
    await context.fault('Kafka broker restart', () => stackFaults.restartKafka());
    await waitReadyAll(cluster, notes);
  };
  const run = await simple(env, 7, {
    workload: { batches: 1, slots: 20, duplicateRatio: 0.1, validationFailures: 1 },
    ratePerSec: pick(env.settings, 100, 300),
    durationMs: durationS * 1000,
    duringLoad,
    settleTimeoutMs: 180_000,
  });
  return outcome(7, run, {}, notes);
};

async function waitReadyAll(cluster: WorkerCluster, notes: string[]) {
  for (const replica of cluster.replicas) {
    await cluster.waitReady(replica.index, 120_000).then(
      () => undefined,
      (error: Error) => notes.push(`${replica.instanceId}: ${error.message}`),
    );
  }
}

const ordering: Runner = async (env) => {
  // Half of each batch's texts before its registration; a quarter of batches never registered (pending).
  const run = await simple(env, 8, {
    workload: { batches: 4, slots: 10, beforeRegistration: 0.5, withoutRegistration: 0.25 },
    waves: pick(env.settings, 2, 10),
  });
  return outcome(8, run);
};

const badInput: Runner = async (env) => {
  const run = await simple(env, 9, {
    workload: { batches: 2, slots: 5, malformed: 3 },
    waves: pick(env.settings, 1, 4),
  });
  return outcome(9, run);
};

const scaling: Runner = async (env) => {
  const durationS = env.settings.durationS;
  const workload = { batches: 4, slots: 50 };
  const waves = pick(env.settings, 5, 25);
  const throughput: Record<string, number> = {};
  const runs: WorkloadRunResult[] = [];
  for (const replicas of [1, 3, 5]) {
    const run = await runWorkload({
      ...baseOptions(env, 6, replicas),
      workload,
      waves,
      durationMs: durationS ? durationS * 1000 : 0,
      ratePerSec: 0,
    });
    throughput[String(replicas)] = run.check.throughputPerSec;
    runs.push(run);
  }
  // Memory against batch size: the same number of texts each time (as many batches as fit), so that
  // only the batch size changes and not the amount of work a fresh replica has done.
  const rssByBatchSize: Record<string, number> = {};
  const batchSizes = pick(env.settings, [10, 1000], [10, 100, 1000, 10_000]);
  const textsPerRun = Math.max(...batchSizes);
  for (const size of batchSizes) {
    await runWorkload({
      ...baseOptions(env, 6, 1),
      label: `s6-rss-${size}`,
      logDir: path.join(env.reportDir, 'logs', `s6-rss-${size}`),
      workload: { batches: Math.ceil(textsPerRun / size), slots: size },
      waves: 1,
      afterSettle: (cluster) => {
        const rss = cluster.rssBytes(0);
        if (rss !== undefined) rssByBatchSize[String(size)] = rss;
      },
    });
  }
  const base = throughput['1'] ?? 0;
  const ratio = (n: number) => (base > 0 ? Math.round((n / base) * 100) / 100 : 0);
  const main = runs[1] ?? runs[0];
  if (!main) throw new Error('scenario 6 produced no run');
  const merged: WorkloadRunResult = {
    ...main,
    pids: runs.flatMap((r) => r.pids),
    notes: runs.flatMap((r) => r.notes),
    unexpectedExits: runs.flatMap((r) => r.unexpectedExits),
  };
  const sizes = Object.keys(rssByBatchSize);
  const smallest = rssByBatchSize[sizes[0] ?? ''] ?? 0;
  const largest = rssByBatchSize[sizes.at(-1) ?? ''] ?? 0;
  const growth = smallest > 0 ? Math.round(((largest - smallest) / smallest) * 1000) / 10 : 0;
  const notes = [
    `throughput texts/s by replicas: ${JSON.stringify(throughput)}; the replicas share 2 cores with PostgreSQL, Kafka and the generator`,
    `RSS growth from ${sizes[0]} to ${sizes.at(-1)} essays per batch, ${textsPerRun} texts each run: ${growth} %`,
  ];
  const result = outcome(6, merged, {}, notes);
  // Every run of the comparison must be clean, not only the one shown.
  for (const run of runs) {
    for (const [name, list] of Object.entries(commonProblems(run, 1))) {
      result.problems[`${name}@${new Set(run.pids).size}r`] = list;
    }
  }
  result.report.passed = Object.values(result.problems).every((list) => list.length === 0);
  result.report.throughputByReplicas = throughput;
  result.report.scale3 = ratio(throughput['3'] ?? 0);
  result.report.scale5 = ratio(throughput['5'] ?? 0);
  result.report.rssByBatchSize = rssByBatchSize;
  return result;
};

export const SCENARIO_RUNNERS: Record<number, Runner> = {
  1: race,
  2: crossInstance,
  3: completion,
  4: highConcurrency,
  5: redisConsistency,
  6: scaling,
  7: faults,
  8: ordering,
  9: badInput,
};

/** Priority order: correctness first, then Redis, faults and scaling. */
export const SCENARIO_ORDER = [1, 2, 3, 4, 8, 9, 5, 7, 6];
