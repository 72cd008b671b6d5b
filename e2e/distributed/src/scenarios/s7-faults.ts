import { FAULT_KINDS, planFaultSchedule, type FaultKind } from '../nemesis/fault-schedule';
import { runNemesis } from '../nemesis/run-nemesis';
import { outcome, pick, simple, waitForAssignments, type Runner } from './scenario-kit';
import type { LoadContext } from './workload-run';

/**
 * Scenario 7: the random nemesis. A fault schedule drawn from the run's seed (replica kills and pauses,
 * hard and graceful crashes of PostgreSQL and Kafka, Redis outages, partitions, latency and resets between
 * one replica and PostgreSQL or Redis, rolling restarts, scaling up and down) runs during the load, several
 * faults overlapping; afterwards the checker judges the whole history. Every fault must have started
 * while the generator was still producing.
 */

/**
 * The CI profile's load is shorter than the consumer session timeout, so a pause longer than it cannot
 * fit; the full profile draws from every kind (`E2E_FAULTS` chooses explicitly).
 */
const CI_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((kind) => kind !== 'replica-long-pause');

export const faults: Runner = async (env) => {
  const durationS = env.settings.durationS ?? pick(env.settings, 30, 90);
  const kinds = env.settings.faults ?? (env.settings.profile === 'ci' ? CI_KINDS : FAULT_KINDS);
  const schedule = planFaultSchedule({
    seed: env.settings.seed,
    loadMs: durationS * 1000,
    replicas: env.settings.instances,
    kinds,
  });
  const actionFailures: string[] = [];
  const duringLoad = async (context: LoadContext) => {
    await waitForAssignments(context, 0, 1, 'load to reach the replicas before the first fault');
    const result = await runNemesis(
      schedule,
      { cluster: context.cluster, network: context.network, sql: context.db.sql, note: context.note },
      context,
      (line) => process.stdout.write(`[s7 seed ${env.settings.seed}] ${line}\n`),
    );
    actionFailures.push(...result.failures);
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
  const result = outcome(7, run, { faultActions: actionFailures, faultsAfterLoad: afterLoad });
  result.report.schedule = schedule;
  return result;
};
