import { FAULT_KINDS, planFaultSchedule, type FaultKind } from '../nemesis/fault-schedule';
import { runNemesis } from '../nemesis/run-nemesis';
import { outcome, pick, simple, sleep, waitForAssignments, type Runner } from './scenario-kit';
import type { LoadContext } from './workload-run';

/**
 * Scenario 7: the random nemesis. A fault schedule drawn from the run's seed (replica kills and pauses,
 * hard and graceful crashes of PostgreSQL and Kafka, Redis outages, partitions, latency and resets between
 * one replica and PostgreSQL or Redis, rolling restarts, scaling up and down) runs during the load, several
 * faults overlapping; afterwards the checker judges the whole history. Every fault must have started
 * while the generator was still producing (one whose turn comes later, behind an overrunning service or
 * group fault, is skipped and noted), and every running replica must be ready again within two
 * minutes of the last fault healing (no stuck peer). Each replica's RSS is sampled through the load, so that
 * `E2E_DURATION_S=600 E2E_SCENARIO=faults` is a ten-minute soak reporting memory and throughput over time
 * per replica.
 */

/**
 * The CI profile's load is shorter than the consumer session timeout, so a pause longer than it cannot
 * fit; the full profile draws from every kind (`E2E_FAULTS` chooses explicitly).
 */
const CI_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((kind) => kind !== 'replica-long-pause');

/** Under the Compose driver the replicas reach the services directly: no fault proxies, no network faults. */
const NETWORK_KINDS: ReadonlySet<FaultKind> = new Set(['net-latency', 'net-blackhole', 'net-reset']);

export const faults: Runner = async (env) => {
  const durationS = env.settings.durationS ?? pick(env.settings, 30, 90);
  const drawable = env.settings.faults ?? (env.settings.profile === 'ci' ? CI_KINDS : FAULT_KINDS);
  const kinds =
    env.settings.driver === 'compose' ? drawable.filter((kind) => !NETWORK_KINDS.has(kind)) : drawable;
  const schedule = planFaultSchedule({
    seed: env.settings.seed,
    loadMs: durationS * 1000,
    replicas: env.settings.instances,
    kinds,
    // Container starts and health-checked service restarts take about twice a process's time.
    ...(env.settings.driver === 'compose' ? { spanFactor: 2 } : {}),
  });
  const actionFailures: string[] = [];
  const unrecovered: string[] = [];
  const rssSeries: Array<{ replica: string; atMs: number; bytes: number }> = [];
  const duringLoad = async (context: LoadContext) => {
    // Every replica's RSS every 2 s while the generator produces (for the soak's memory over time).
    let producing = true;
    void context.produced.then(() => (producing = false));
    const sampling = (async () => {
      while (producing) {
        for (const replica of context.cluster.replicas) {
          if (replica.state !== 'running') continue;
          const bytes = context.cluster.rssBytes(replica.index);
          if (bytes !== undefined) rssSeries.push({ replica: replica.instanceId, atMs: Date.now(), bytes });
        }
        await sleep(2000);
      }
    })();
    await waitForAssignments(context, 0, 1, 'load to reach the replicas before the first fault');
    const result = await runNemesis(
      schedule,
      { cluster: context.cluster, network: context.network, sql: context.db.sql, note: context.note },
      context,
      (line) => process.stdout.write(`[s7 seed ${env.settings.seed}] ${line}\n`),
      () => !producing,
    );
    for (const fault of result.skipped) context.note(`fault skipped, the load had ended: ${fault}`);
    actionFailures.push(...result.failures);
    unrecovered.push(...result.unrecovered);
    await sampling;
  };
  const run = await simple(env, 7, {
    workload: { batches: 1, slots: 20, duplicateRatio: 0.1, validationFailures: 1 },
    ratePerSec: pick(env.settings, 100, 300),
    durationMs: durationS * 1000,
    duringLoad,
    networkFaults: true,
    settleTimeoutMs: 180_000,
  });
  const afterLoad = run.faults
    .filter((window) => window.startMs > run.load.endMs)
    .map((window) => `${window.label} started ${window.startMs - run.load.endMs} ms after the load ended`);
  const result = outcome(7, run, {
    faultActions: actionFailures,
    faultsAfterLoad: afterLoad,
    recovery: unrecovered,
  });
  result.report.schedule = schedule;
  result.report.rssSeries = rssSeries;
  return result;
};
