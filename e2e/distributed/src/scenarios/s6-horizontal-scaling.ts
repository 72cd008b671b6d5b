import path from 'node:path';
import { baseOptions, commonProblems, outcome, pick, withRedeliveries, type Runner } from './scenario-kit';
import type { ReplicaThrottling } from '@els/harness';
import { runWorkload, type WorkloadRunResult } from './workload-run';

/**
 * Why the scaling ratios are reported and not judged: every replica here shares the machine's cores with
 * PostgreSQL, Kafka and the generator, so more replicas split the same CPU, and the ratio says nothing about
 * replicas that each have their own. Scaling is judged only where the replicas are the bottleneck.
 */
const SHARED_CORES =
  'the replicas share the cores with PostgreSQL, Kafka and the generator: more replicas split the same CPU (scaling is judged only where the replicas are the bottleneck: E2E_REPLICA_CPU)';

/**
 * With E2E_REPLICA_CPU each replica runs capped (a control group of its own, `cpus` under Compose): what
 * a deployment that scales out looks like, each replica on its own machine and the shared services
 * elsewhere, so the ratios are judged. The cap must be in force: every replica of every run is read back
 * at the requested cap, or the comparison is a problem (`cpuCap`).
 */
export function capProblems(
  replicaCpus: number,
  runs: ReadonlyArray<{ replicas: number; throttling: readonly ReplicaThrottling[] | undefined }>,
): string[] {
  const problems: string[] = [];
  for (const run of runs) {
    const read = run.throttling ?? [];
    if (read.length < run.replicas) {
      problems.push(
        `${run.replicas} replicas: the cap of ${replicaCpus} cores could be read back for ${read.length} of them`,
      );
    }
    for (const replica of read) {
      if (Math.abs(replica.cpus - replicaCpus) > 0.005) {
        problems.push(`${replica.instanceId} ran capped at ${replica.cpus} cores, not ${replicaCpus}`);
      }
    }
  }
  return problems;
}

/** One line per run: how often its replicas were held to their cap. */
export function throttlingNote(replicas: number, throttling: readonly ReplicaThrottling[]): string {
  const parts = throttling.map(
    (replica) =>
      `${replica.instanceId} ${replica.throttledPeriods}/${replica.periods} periods, ${Math.round(replica.throttledMs)} ms`,
  );
  return `${replicas} replicas capped at ${throttling[0]?.cpus ?? '?'} cores, held back: ${parts.join('; ')}`;
}

/** The replica counts of the scaling comparison, in run order. */
const REPLICA_COUNTS = [1, 3, 5] as const;

/** Scenario 6: throughput with 1, 3 and 5 replicas, and memory against batch size. */
export const scaling: Runner = async (env) => {
  const durationS = env.settings.durationS;
  const { replicaCpus } = env.settings;
  const workload = withRedeliveries({ batches: 4, slots: 50 });
  const waves = pick(env.settings, 5, 25);
  const throughput: Record<string, number> = {};
  const runs: WorkloadRunResult[] = [];
  for (const replicas of REPLICA_COUNTS) {
    const run = await runWorkload({
      ...baseOptions(env, 6, replicas),
      workload,
      waves,
      durationMs: durationS ? durationS * 1000 : 0,
      ratePerSec: 0,
      ...(replicaCpus === undefined ? {} : { replicaCpus }),
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
      workload: withRedeliveries({ batches: Math.ceil(textsPerRun / size), slots: size }),
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
    replicaCpus === undefined
      ? `throughput texts/s by replicas: ${JSON.stringify(throughput)}; the replicas share 2 cores with PostgreSQL, Kafka and the generator`
      : `throughput texts/s by replicas, each capped at ${replicaCpus} cores: ${JSON.stringify(throughput)}`,
    ...runs.flatMap((run) =>
      run.cpuThrottling ? [throttlingNote(new Set(run.pids).size, run.cpuThrottling)] : [],
    ),
    `RSS growth from ${sizes[0]} to ${sizes.at(-1)} essays per batch, ${textsPerRun} texts each run: ${growth} %`,
  ];
  const cap: Record<string, string[]> =
    replicaCpus === undefined
      ? {}
      : {
          cpuCap: capProblems(
            replicaCpus,
            runs.map((run, i) => ({ replicas: REPLICA_COUNTS[i] ?? 0, throttling: run.cpuThrottling })),
          ),
        };
  const result = outcome(6, merged, cap, notes);
  // Every run of the comparison must be clean, not only the one shown.
  for (const run of runs) {
    for (const [name, list] of Object.entries(commonProblems(run, 1))) {
      result.problems[`${name}@${new Set(run.pids).size}r`] = list;
    }
  }
  result.report.passed = Object.values(result.problems).every((list) => list.length === 0);
  result.report.throughputByReplicas = throughput;
  result.report.logs = runs.map((run) => run.mergedLog);
  result.report.scale3 = ratio(throughput['3'] ?? 0);
  result.report.scale5 = ratio(throughput['5'] ?? 0);
  result.report.rssByBatchSize = rssByBatchSize;
  result.report.measurements = {
    ...result.report.measurements,
    ...(smallest > 0 && largest > 0
      ? { rssGrowthByBatchSizePct: { value: growth, samples: sizes.length } }
      : {}),
    scale3: {
      value: ratio(throughput['3'] ?? 0),
      samples: 2,
      ...(replicaCpus === undefined ? { notJudged: SHARED_CORES } : {}),
    },
    scale5: {
      value: ratio(throughput['5'] ?? 0),
      samples: 2,
      ...(replicaCpus === undefined ? { notJudged: SHARED_CORES } : {}),
    },
  };
  if (replicaCpus !== undefined) {
    result.report.replicaCpus = replicaCpus;
    result.report.cpuThrottling = runs.map((run) => run.cpuThrottling ?? []);
  }
  return result;
};
