import { TEST_SERVER_URL } from '@els/test-kit';
import { createTestKafka } from '@els/harness';
import { createDatabaseFaults } from '../nemesis/database-faults';
import { createKafkaFaults } from '../nemesis/kafka-faults';
import { FAULT_KINDS, NETWORK_KINDS, planFaultSchedule, type FaultKind } from '../nemesis/fault-schedule';
import { runNemesis } from '../nemesis/run-nemesis';
import { outcome, pick, simple, sleep, waitForAssignments, type Runner } from './scenario-kit';
import type { RunSettings } from './run-settings';
import type { LoadContext } from './workload-run';

/**
 * Scenario 7: the random nemesis. A fault schedule drawn from the run's seed runs during the load, covering
 * every fault family on every run (a replica fault, PostgreSQL, Kafka, Redis, and a network fault between one
 * replica and each of PostgreSQL, Redis and Kafka; the kind inside each family drawn): replica kills and
 * pauses, a pause while the replica holds row locks, rolling restarts, scaling up and down, hard and graceful
 * crashes of PostgreSQL and Kafka, a read-only database, a broker refusing produce requests while fetches go
 * on, Redis outages, and partitions, latency, resets and refused or unreachable connections between one
 * replica and a dependency that the others still reach; several
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

/**
 * The kinds scenario 7 draws from: E2E_FAULTS, else the profile's. Under the Compose driver the replicas
 * reach the services directly: no fault proxies, so no network faults.
 */
export function faultKindsFor(settings: Pick<RunSettings, 'faults' | 'profile' | 'driver'>): FaultKind[] {
  const drawable = settings.faults ?? (settings.profile === 'ci' ? CI_KINDS : FAULT_KINDS);
  return settings.driver === 'compose' ? drawable.filter((kind) => !NETWORK_KINDS.has(kind)) : [...drawable];
}

/**
 * One attempt for a failure the worker does not recognise, where the default gives five. This workload
 * has no poison input: every message is valid, so none may ever be dead-lettered, whatever the budget. The
 * budget only decides how long an outage must last before a worker that mistakes it for an unexpected
 * failure dead-letters (loses) what it was handling, and a fault lasts seconds where a real outage lasts
 * minutes. Connection errors come slowly, too: postgres.js backs off between connection attempts (3^n /
 * 100 s, up to 20 s, shared by the pool), so a replica whose database connections are refused sees about
 * one error per message every 10 s, and five attempts would need the database gone for about a minute
 * (measured with net-refuse: 21 s of EHOSTUNREACH gave three failed attempts to the most-tried message,
 * and the suite passed on a worker that dead-letters EHOSTUNREACH). A correct worker tells an outage from
 * a refusal by the error, or by proving the database writable before it gives up, not by the count.
 */
const SENSITIVE_RETRY_BUDGET = { ELS_RETRY_UNEXPECTED_MAX: '1' } as const;

/**
 * A short outbox retention, so the pruner deletes rows throughout the faults: an unpublished row it took
 * would be a lost event, a published row it never takes a table that grows (invariant 12).
 */
const SHORT_RETENTION = { retentionMs: 5000, pruneIntervalMs: 1000 } as const;

export const faults: Runner = async (env) => {
  const durationS = env.settings.durationS ?? pick(env.settings, 30, 90);
  const kinds = faultKindsFor(env.settings);
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
    // The read-only fault acts from a session of its own to the server, which the suite reaches under
    // either driver (the Compose stack publishes PostgreSQL on a host port); where it cannot, it is skipped.
    const database = schedule.some((fault) => fault.kind === 'postgres-read-only')
      ? createDatabaseFaults({ serverUrl: TEST_SERVER_URL, database: context.db.name })
      : undefined;
    const databaseUnavailable = await database?.unavailable();
    if (databaseUnavailable) context.note(`no postgres-read-only faults: ${databaseUnavailable}`);
    // The produce refusal alters the run's own topics through an admin client of the suite.
    const kafka = schedule.some((fault) => fault.kind === 'kafka-produce-refusal')
      ? createKafkaFaults({ kafka: createTestKafka('e2e-s7-nemesis'), topicPrefix: context.topicPrefix })
      : undefined;
    const result = await runNemesis(
      schedule,
      {
        cluster: context.cluster,
        network: context.network,
        sql: context.db.sql,
        database: databaseUnavailable ? undefined : database,
        kafka,
        note: context.note,
      },
      context,
      (line) => process.stdout.write(`[s7 seed ${env.settings.seed}] ${line}\n`),
      () => !producing,
    ).finally(() => database?.close());
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
    env: {
      ...SENSITIVE_RETRY_BUDGET,
      ELS_OUTBOX_RETENTION_MS: String(SHORT_RETENTION.retentionMs),
      ELS_OUTBOX_PRUNE_INTERVAL_MS: String(SHORT_RETENTION.pruneIntervalMs),
    },
    outboxRetention: SHORT_RETENTION,
  });
  const afterLoad = run.faults
    .filter((window) => window.startMs > run.load.endMs)
    .map((window) => `${window.label} started ${window.startMs - run.load.endMs} ms after the load ended`);
  const result = outcome(
    7,
    run,
    {
      faultActions: actionFailures,
      faultsAfterLoad: afterLoad,
      recovery: unrecovered,
      outboxRetention: run.outboxRetention?.problems ?? [],
    },
    [],
    { schedule },
  );
  result.report.schedule = schedule;
  result.report.rssSeries = rssSeries;
  return result;
};
