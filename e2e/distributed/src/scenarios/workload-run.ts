import { uniqueKafkaNames, waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from '@els/coordination/testing';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkRun, violations, type CheckInput, type CheckResult } from '../checker/run-checker';
import {
  DEFAULT_PRODUCE_OPTIONS,
  createGeneratorKafka,
  createGeneratorProducer,
  ensureInputTopics,
  openRunOutput,
  produceWorkload,
  readSentLog,
  resolveWorkloadOptions,
  type ProduceResult,
  type SentLogLine,
  type WorkloadOptions,
  type WorkloadOptionsInput,
} from '@els/workload';
import {
  type ClusterOptions,
  createComposeCluster,
  createMetricsLedger,
  createOutputCollector,
  createTestKafka,
  createWorkerCluster,
  deleteTopicsWithPrefix,
  KAFKA_BROKERS,
  LATE_EFFECTS_WINDOW_MS,
  type MetricsLedger,
  type ObservedMessage,
  type OutputCollector,
  outputPartitionCounts,
  processKey,
  type ProcessReading,
  REDIS_URL,
  type ReplicaThrottling,
  type WorkerCluster,
} from '@els/harness';
import { checkMetrics, databaseCuts, type MetricsCheck } from '../checker/metrics-check';
import { measureRun, rssSlopes, type ScenarioMeasurements } from '../checker/thresholds';
import {
  judgeOutboxRetention,
  readOutboxRetention,
  type OutboxRetentionObservation,
  type OutboxRetentionSettings,
} from '../checker/outbox-retention-check';
import { ENVELOPE_TOPICS } from '../history/history-index';
import { progressOfHistory, type ProgressEvent, type WorkItem } from '../checker/progress-check';
import type { FaultDetails } from '../nemesis/fault-kinds';
import { readDatabaseSnapshot } from '../history/database-snapshot';
import type { FaultWindow } from '../history/fault-window';
export type { FaultWindow } from '../history/fault-window';
import { createNetworkFaults, type NetworkFaults } from '../nemesis/network-faults';
import { MERGED_LOG, writeMergedLog } from '../history/merged-log';

/**
 * One workload against one cluster: a fresh database, topic prefix and consumer group; N replicas; the
 * generator producing the workload (with fault injection running alongside); then the checker, once the
 * system has settled or the settle timeout has passed.
 */

export interface LoadContext {
  cluster: WorkerCluster;
  db: TestDatabase;
  topicPrefix: string;
  /** The replicas' fault proxies, when the run routes them through proxies (`networkFaults`). */
  network: NetworkFaults | undefined;
  /** Resolves when the generator has sent everything. */
  produced: Promise<unknown>;
  /** Runs a fault and records its window for the report, with `details` as the action left them. */
  fault<T>(label: string, action: () => Promise<T>, details?: FaultDetails): Promise<T>;
  note(text: string): void;
}

export interface WorkloadRunOptions {
  label: string;
  /** Replicas as processes of this machine (default) or as containers of the Compose stack. */
  driver?: 'process' | 'compose';
  replicas: number;
  /** The run's seed: the workload's random choices (and the scenario's fault schedule) derive from it. */
  seed: number;
  workload: WorkloadOptionsInput;
  /** Routes every replica's PostgreSQL and Redis connections through fault proxies of its own. */
  networkFaults?: boolean;
  ratePerSec: number;
  /** 0 = `waves` waves. */
  durationMs: number;
  /** Registrations of each wave first, then this pause, then the texts (see the generator's option). */
  registrationLeadMs?: number;
  waves: number;
  env?: Record<string, string>;
  /** Caps each replica at this many cores (scenario 6's capped comparison); undefined = uncapped. */
  replicaCpus?: number;
  logDir: string;
  /** Runs once the workload is planned, before anything is produced (scenario 9 installs its refusal). */
  beforeLoad?: (context: { db: TestDatabase; workload: WorkloadOptions; waves: number }) => Promise<void>;
  /** Runs while the generator produces (faults, observations). */
  duringLoad?: (context: LoadContext) => Promise<void>;
  /**
   * The outbox retention the replicas run with (set the same ELS_OUTBOX_* in `env`): after settling, the
   * run waits for the pruner and judges the table (invariant 12).
   */
  outboxRetention?: OutboxRetentionSettings;
  /**
   * Runs once the generator has sent everything, before settling; what it returns joins the checker's
   * input (scenario 9 waits for its dead letters, lifts its refusal and replays them here).
   */
  beforeSettle?: (
    context: LoadContext,
    history: { sent: readonly SentLogLine[]; outputs: readonly ObservedMessage[] },
  ) => Promise<Pick<CheckInput, 'replay'>>;
  settleTimeoutMs: number;
  onSpawn: (child: ChildProcess) => void;
  /**
   * Runs after settling, before the replicas stop (scenario 6 reads RSS here, scenario 3 loads the status
   * API of the batches it produced).
   */
  afterSettle?: (
    cluster: WorkerCluster,
    settled: { batchIds: readonly string[]; logDir: string },
  ) => Promise<void> | void;
}

export interface WorkloadRunResult {
  label: string;
  /** Where the replicas' logs of this run are (each logs its parsed configuration at start). */
  logDir: string;
  /** Each replica's instance id by index (the index a fault schedule names), scaled-up ones included. */
  replicaIds: string[];
  check: CheckResult;
  /** The history's progress events (resolutions) and work (texts and when they could be resolved). */
  progressHistory: { events: ProgressEvent[]; work: WorkItem[] };
  produced: ProduceResult;
  pids: number[];
  faults: FaultWindow[];
  notes: string[];
  unexpectedExits: string[];
  startedAtMs: number;
  /** When the generator started and finished producing. */
  load: { startMs: number; endMs: number };
  /** Every replica's log of this run merged in time order, relative to the report directory. */
  mergedLog: string;
  settledMs: number;
  /** Input events each running replica consumed (its current process), in replica order. */
  consumedByReplica: number[];
  /** The replicas' containers (`name id`), under the Compose driver. */
  containers: string[];
  /** The replicas' Prometheus counters against the history. */
  metrics: MetricsCheck;
  /** What the thresholds judge (latencies, success rate, memory), from the history and the replicas' metrics. */
  measurements: ScenarioMeasurements;
  /** With `outboxRetention`: what the table held after the pruner's due time, and what is wrong with it. */
  outboxRetention?: { observation: OutboxRetentionObservation; problems: string[] };
  /** With `replicaCpus`: each replica's cap and how often it was held to it, read after settling. */
  cpuThrottling?: ReplicaThrottling[];
}

/**
 * Waits until no published row is past its retention and a pruning interval (or that plus a few more
 * intervals have gone by), then judges the table.
 */
async function judgeRetention(
  db: TestDatabase,
  settings: OutboxRetentionSettings,
  outputs: readonly ObservedMessage[],
): Promise<{ observation: OutboxRetentionObservation; problems: string[] }> {
  const events = new Set(
    outputs
      .filter((record) => ENVELOPE_TOPICS.includes(record.topic))
      .map((record) => String(record.value?.['event_id'])),
  );
  const startedAt = Date.now();
  const deadline = startedAt + settings.retentionMs + 3 * settings.pruneIntervalMs + 5000;
  let table = await readOutboxRetention(db.sql, settings);
  while (table.overdueRows > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    table = await readOutboxRetention(db.sql, settings);
  }
  const observation = { eventsPublished: events.size, ...table, waitedMs: Date.now() - startedAt };
  return { observation, problems: judgeOutboxRetention(observation, settings) };
}

/**
 * `els_events_consumed_total` of every running replica, in replica order, from the ledger's reading after
 * the run settled (a replica it could not read then is named in the notes and counts 0).
 */
function consumedByReplica(
  cluster: WorkerCluster,
  readings: readonly ProcessReading[],
  notes: string[],
): number[] {
  return cluster.replicas
    .filter((replica) => replica.state === 'running')
    .map((replica) => {
      const reading = readings.find((r) => r.process === processKey(replica) && r.complete);
      if (!reading) notes.push(`could not read the metrics of ${replica.instanceId} after the run settled`);
      return reading?.counters.consumed ?? 0;
    });
}

/** How long the same permanent violations must stand before settling stops early. */
const PERMANENT_VIOLATION_GRACE_MS = 5000;

/**
 * Violations no later event can undo (a second record, an effect for something never sent, a record with a
 * wrong field, a wrong dead letter), as one key; empty when there are none.
 */
function permanentViolations(check: CheckResult): string {
  // A dead letter that exists but is wrong (of valid input, of nothing sent, with the wrong code) stays.
  const wrongDeadLetters = check.deadLetterErrors.filter((entry) => entry.startsWith('dead letter of '));
  const lists = [
    check.duplicated,
    check.unexpected,
    check.eventIdErrors,
    check.fieldErrors,
    wrongDeadLetters,
  ];
  return lists.every((list) => list.length === 0) ? '' : JSON.stringify(lists);
}

const isClean = (check: CheckResult) =>
  Object.values(violations(check)).every((list) => list.length === 0) && check.unpublishedOutboxRows === 0;

export async function runWorkload(options: WorkloadRunOptions): Promise<WorkloadRunResult> {
  const startedAtMs = Date.now();
  const db = await createTestDatabase({ max: 3 });
  const { topicPrefix, consumerGroup } = uniqueKafkaNames(options.label);
  const kafka = createTestKafka(`e2e-${options.label}`);
  let network: NetworkFaults | undefined;
  const faultsUnavailable: string[] = [];
  const compose = options.driver === 'compose';
  if (options.networkFaults && compose) {
    faultsUnavailable.push(
      'no network faults under the Compose driver (the replicas reach the services directly): the fault families network-postgres, network-redis and network-kafka are not covered',
    );
  }
  if (options.networkFaults && !compose) {
    network = await createNetworkFaults({
      replicas: options.replicas,
      databaseUrl: db.url,
      redisUrl: REDIS_URL,
      kafkaHost: (KAFKA_BROKERS[0] ?? '127.0.0.1:9092').split(':')[0] ?? '127.0.0.1',
      label: options.label,
    }).catch(async (error: unknown) => {
      await db.drop().catch(() => undefined);
      throw error;
    });
  }
  const proxies = network;
  for (const [dependency, why] of Object.entries(network?.unavailable ?? {})) {
    faultsUnavailable.push(`no ${dependency} network faults: ${why}`);
  }
  if (network?.packetFilterUnavailable) {
    faultsUnavailable.push(`no net-refuse faults: ${network.packetFilterUnavailable}`);
  }
  for (const rule of network?.leftoverRulesRemoved ?? []) {
    faultsUnavailable.push(`removed a packet filter rule an earlier run left behind: ${rule}`);
  }
  const clusterOptions: ClusterOptions = {
    label: options.label,
    replicas: options.replicas,
    databaseUrl: db.url,
    topicPrefix,
    consumerGroup,
    logDir: options.logDir,
    env: options.env ?? {},
    onSpawn: options.onSpawn,
    ...(proxies ? { endpointsFor: (index: number) => proxies.endpointsFor(index) } : {}),
    ...(options.replicaCpus === undefined ? {} : { replicaCpus: options.replicaCpus }),
  };
  const cluster = compose ? createComposeCluster(clusterOptions) : createWorkerCluster(clusterOptions);
  const generatorKafka = createGeneratorKafka({ brokers: KAFKA_BROKERS, clientId: `gen-${options.label}` });
  const producer = createGeneratorProducer(generatorKafka);
  const faults: FaultWindow[] = [];
  const notes: string[] = [...faultsUnavailable];
  let collector: OutputCollector | undefined;
  let ledger: MetricsLedger | undefined;
  try {
    // Input topics first, from the generator (2 MiB messages), then the worker's own migrate.
    const admin = generatorKafka.admin();
    await admin.connect();
    const { partitionCounts } = await ensureInputTopics(admin, topicPrefix, 12).finally(() =>
      admin.disconnect(),
    );
    await cluster.migrate();
    collector = await createOutputCollector(kafka, topicPrefix);
    await cluster.start();
    ledger = createMetricsLedger(cluster);
    await collector.ready();
    await producer.connect();

    const output = await openRunOutput(path.join(options.logDir, 'generator'));
    const workload = resolveWorkloadOptions({
      partitions: 12,
      runId: options.label,
      baseTimeMs: Date.now(),
      seed: options.seed,
      ...options.workload,
    });
    await options.beforeLoad?.({ db, workload, waves: options.waves });
    const producing = produceWorkload(
      workload,
      {
        ...DEFAULT_PRODUCE_OPTIONS,
        topicPrefix,
        ratePerSec: options.ratePerSec,
        durationMs: options.durationMs,
        waves: options.waves,
        progressIntervalMs: 5000,
        ...(options.registrationLeadMs ? { registrationLeadMs: options.registrationLeadMs } : {}),
      },
      { producer, partitionCounts, sentLog: output.sentLog },
    );
    const loadStartedAtMs = Date.now();
    let loadEndedAtMs = 0;
    void producing.then(
      () => (loadEndedAtMs = Date.now()),
      () => (loadEndedAtMs = Date.now()),
    );
    const context: LoadContext = {
      cluster,
      db,
      topicPrefix,
      network,
      produced: producing.catch(() => undefined),
      async fault(label, action, details) {
        const startMs = Date.now();
        try {
          return await action();
        } finally {
          faults.push({ ...details, label, startMs, endMs: Date.now() });
        }
      },
      note: (text) => void notes.push(text),
    };
    const [produced] = await Promise.all([producing, options.duringLoad?.(context)]);
    await output.finish(produced);
    const sent = await readSentLog(output.sentLogPath);
    const batchIds = produced.expectations.map((e) => e.batchId);
    const observed = collector;
    const extraInput = (await options.beforeSettle?.(context, { sent, outputs: observed.messages })) ?? {};
    const outputPartitions = await outputPartitionCounts(kafka, topicPrefix).catch((error: unknown) => {
      notes.push(
        `output partitions not read, partitions not checked: ${error instanceof Error ? error.message : String(error)}`,
      );
      return {};
    });

    // Settle: poll the checker until the run is clean (or time runs out; the last result names what is wrong).
    const settleStart = Date.now();
    const check = async () =>
      checkRun({
        ...extraInput,
        outputPartitions,
        sent,
        expectations: produced.expectations,
        outputs: observed.messages,
        db: await readDatabaseSnapshot(db.sql, batchIds),
      });
    let result = await check();
    let permanentSince: { key: string; atMs: number } | undefined;
    try {
      result = await waitFor(
        `${options.label} to settle`,
        async () => {
          const current = await check();
          result = current;
          if (isClean(current)) return current;
          // A duplicate or unexpected effect never goes away: once the same ones have stood for a few
          // seconds, waiting out the settle timeout would only delay the verdict.
          const key = permanentViolations(current);
          if (key === '') permanentSince = undefined;
          else if (permanentSince?.key !== key) permanentSince = { key, atMs: Date.now() };
          else if (Date.now() - permanentSince.atMs >= PERMANENT_VIOLATION_GRACE_MS) return current;
          return undefined;
        },
        { timeoutMs: options.settleTimeoutMs, intervalMs: 1000 },
      );
      // A late record (a re-publish the relay still owes, a second event) arrives after the clean
      // snapshot: keep reading for the relay's longest backoff and one poll, then look once more.
      await new Promise((resolve) => setTimeout(resolve, LATE_EFFECTS_WINDOW_MS));
      result = await check();
    } catch (error) {
      notes.push(error instanceof Error ? error.message : String(error));
    }
    const settledMs = Date.now() - settleStart;
    await ledger.scrape(true);
    ledger.stop();
    const metrics = checkMetrics(observed.messages, ledger.readings(), databaseCuts(faults));
    for (const entry of metrics.uncounted) notes.push(`metrics a lower bound only: ${entry}`);
    const measurements = measureRun(result, ledger.readings(), loadStartedAtMs);
    // Every replica process's memory over the run, beside its logs (what the RSS slope was fitted to).
    fs.mkdirSync(options.logDir, { recursive: true });
    fs.writeFileSync(
      path.join(options.logDir, 'memory.json'),
      JSON.stringify(ledger.readings().map(({ process, memory }) => ({ process, memory }))),
    );
    const slopes = rssSlopes(ledger.readings());
    if (slopes.length > 0) {
      notes.push(
        `RSS slope after warm-up, MB per 10,000 events: ${slopes.map((entry) => `${entry.process} ${entry.mbPer10k}`).join(', ')}`,
      );
    }
    const outboxRetention = options.outboxRetention
      ? await judgeRetention(db, options.outboxRetention, observed.messages)
      : undefined;
    if (outboxRetention) {
      const { eventsPublished, rowsLeft, waitedMs } = outboxRetention.observation;
      notes.push(
        `outbox after pruning: ${rowsLeft} rows left of ${eventsPublished} events published (waited ${waitedMs} ms)`,
      );
    }
    const consumed = consumedByReplica(cluster, ledger.readings(), notes);
    const cpuThrottling = options.replicaCpus === undefined ? undefined : cluster.cpuThrottling?.();
    await options.afterSettle?.(cluster, { batchIds, logDir: options.logDir });
    return {
      label: options.label,
      logDir: options.logDir,
      replicaIds: cluster.replicas.map((replica) => replica.instanceId),
      check: result,
      progressHistory: progressOfHistory({
        sent,
        expectations: produced.expectations,
        outputs: observed.messages,
      }),
      produced,
      pids: cluster.pids(),
      faults,
      notes,
      unexpectedExits: cluster.unexpectedExits(),
      startedAtMs,
      load: { startMs: loadStartedAtMs, endMs: loadEndedAtMs || Date.now() },
      mergedLog: path.join('logs', path.basename(options.logDir), MERGED_LOG),
      settledMs,
      consumedByReplica: consumed,
      containers: cluster.containerIds?.() ?? [],
      metrics,
      measurements,
      ...(outboxRetention ? { outboxRetention } : {}),
      ...(cpuThrottling ? { cpuThrottling } : {}),
    };
  } finally {
    ledger?.stop();
    await cluster.stop();
    cluster.dispose?.();
    try {
      writeMergedLog(options.logDir, faults);
    } catch (error) {
      notes.push(`merged log not written: ${error instanceof Error ? error.message : String(error)}`);
    }
    await collector?.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await network?.close();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await db.drop().catch(() => undefined);
  }
}
