import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { TOPICS, topicName } from '@els/contracts';
import { uniqueKafkaNames, waitFor } from '@els/test-kit';
import { createTestDatabase } from '@els/coordination/testing';
import {
  createTestKafka,
  createWorkerCluster,
  deleteTopicsWithPrefix,
  histogramQuantile,
  KAFKA_BROKERS,
  mergeHistogram,
  metricValues,
  readTopic,
  repoRoot,
  subtractHistogram,
  uncommittedMessages,
  type ReplicaThrottling,
  type WorkerCluster,
} from '@els/harness';
import { sampleLockWaits, type LockWaits, type LockWaitSampler } from './lock-waits';
import { sampleCpu } from './process-cpu';
import { redisLatencyWindow, type RedisServerLatency } from './redis-server-latency';

const run = promisify(execFile);
const generatorEntry = path.join(repoRoot, 'dist', 'apps', 'event-generator', 'main.js');

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** A quantile pair read from the replicas' Prometheus histograms (merged, bucket-interpolated). */
export interface StageLatency {
  p50: number;
  p99: number;
  /** Upper bound of the bucket holding p99 (Infinity above the largest bucket). */
  p99BucketMs: number;
  count: number;
}

/** Where the time goes, from the worker's own histograms, all replicas merged. */
export interface WorkerStages {
  /** Paced runs: what was observed after the first WARMUP_MS of sending; drains: the whole run. */
  window: 'after warm-up' | 'whole run';
  /** Content record timestamp → the worker starts on it (broker, fetch wait, earlier batches). */
  fetchDelay: StageLatency | null;
  /** One Redis pre-filter lookup (a whole fetched batch per lookup). */
  redisPrefilter: StageLatency | null;
  /** One content database call: the assignment transaction of a run of content events. */
  assignmentTransaction: StageLatency | null;
  /** Content record timestamp → its transaction committed and its offset resolved. */
  settled: StageLatency | null;
  /** Outbox row inserted → published by the relay. */
  outboxPublishLag: StageLatency | null;
  /** Event-loop lateness p99 since the previous scrape (Node's monitorEventLoopDelay), the worst replica. */
  eventLoopLagP99Ms: number | null;
}

export interface CompletionLatency {
  batches: number;
  /** The batch's last text sent → completion record on the topic (paced runs only). */
  fromLastSentMs: Percentiles | null;
  /** The same for batches whose last text was sent after the first WARMUP_MS. */
  steadyFromLastSentMs: Percentiles | null;
  /** The batch's last text assigned (its transaction's start) → completion record on the topic. */
  fromLastAssignedMs: Percentiles | null;
}

export interface WorkerRun {
  replicas: number;
  /** 0 = backlog drain: everything is produced first, then the replicas start (flat out). */
  offeredPerSec: number;
  texts: number;
  achievedPerSec: number;
  latencyMs: Percentiles | null;
  /** The same for texts sent after the first WARMUP_MS of the run (start-up burst and cold code excluded). */
  steadyLatencyMs: Percentiles | null;
  rssMb: number;
  offsetsCommittedAfterMs: number;
  stages: WorkerStages;
  completion: CompletionLatency;
  /** Paced runs: CPU one replica spent from spawn to readiness, ms (drains include it in their per-text CPU). */
  replicaStartupCpuMs: number | null;
  /**
   * CPU time per text by process, µs: the replicas from readiness (paced) or spawn (drain) to the end, PostgreSQL (backends
   * included), the Kafka broker and Redis over the whole run, the generator while it produced.
   */
  cpuMicrosPerText: {
    replicas: number;
    postgres: number;
    kafka: number;
    redis: number;
    generator: number;
    total: number;
  };
  /** Redis's own latency for the pre-filter's commands (MGET lookups, SET marks) during the run. */
  redisServer: RedisServerLatency[];
  /** Time the replicas' sessions waited for other transactions' locks, sampled (lock-waits.ts). */
  lockWaits: LockWaits;
  /** Capped runs: each replica's cap and how often it was held to it. */
  replicaCpus?: number;
  throttling?: ReplicaThrottling[];
}

export interface WorkerRunSpec {
  replicas: number;
  offeredPerSec: number;
  batches: number;
  slots: number;
  durationS: number;
  logDir: string;
  /** Caps each replica at this many cores (a control group per process); undefined = uncapped. */
  replicaCpus?: number;
}

/** Texts sent in the first seconds of a paced run meet cold code, fresh connections and the generator's start burst. */
export const WARMUP_MS = 5000;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function percentilesOf(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(sorted, 0.5)),
    p95: Math.round(percentile(sorted, 0.95)),
    p99: Math.round(percentile(sorted, 0.99)),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

/** Every replica's /metrics text, in replica order. */
async function metricsOf(cluster: WorkerCluster): Promise<string[]> {
  return Promise.all(
    cluster.replicas.map(async (replica) => {
      const { status, body } = await cluster.httpGet(replica.index, '/metrics');
      if (status !== 200 || typeof body !== 'string') {
        throw new Error(`${replica.instanceId}: GET /metrics answered ${status}`);
      }
      return body;
    }),
  );
}

/** The final scrape, also kept next to the logs. */
async function scrapeMetrics(cluster: WorkerCluster, logDir: string, label: string): Promise<string[]> {
  const texts = await metricsOf(cluster);
  cluster.replicas.forEach((replica, i) =>
    fs.writeFileSync(path.join(logDir, `${label}-${replica.instanceId}.metrics.txt`), texts[i] ?? ''),
  );
  return texts;
}

/** The largest value of an unlabelled gauge across replicas, in ms. */
/**
 * The worst replica's event-loop lateness p99, ms. prom-client's `nodejs_eventloop_lag_*` gauges are Node's
 * delay monitor's sampling intervals (its resolution plus the lateness), so the lateness is p99 − min.
 */
function worstEventLoopLateness(expositions: string[]): number | null {
  const lateness = expositions.flatMap((text) => {
    const [p99] = metricValues([text], 'nodejs_eventloop_lag_p99_seconds');
    const [min] = metricValues([text], 'nodejs_eventloop_lag_min_seconds');
    return p99 === undefined || min === undefined ? [] : [Math.max(0, p99 - min)];
  });
  return lateness.length > 0 ? Math.round(Math.max(...lateness) * 1000 * 10) / 10 : null;
}

/** CPU seconds the running replicas have used (their process_cpu_seconds_total, summed). */
export async function replicaCpuSeconds(cluster: WorkerCluster): Promise<number> {
  return sum(metricValues(await metricsOf(cluster), 'process_cpu_seconds_total'));
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

function stagesOf(expositions: string[], warmUp: string[] | undefined): WorkerStages {
  const stage = (name: string, labels: Record<string, string> = {}): StageLatency | null => {
    const whole = mergeHistogram(expositions, name, labels);
    const merged = warmUp ? subtractHistogram(whole, mergeHistogram(warmUp, name, labels)) : whole;
    const p50 = histogramQuantile(merged, 0.5);
    const p99 = histogramQuantile(merged, 0.99);
    if (!p50 || !p99) return null;
    return { p50: p50.ms, p99: p99.ms, p99BucketMs: p99.bucketBoundMs, count: merged.count };
  };
  return {
    window: warmUp ? 'after warm-up' : 'whole run',
    fetchDelay: stage('els_fetch_delay_seconds', { event: 'content' }),
    redisPrefilter: stage('els_redis_prefilter_duration_seconds'),
    assignmentTransaction: stage('els_content_transaction_duration_seconds', { outcome: 'committed' }),
    settled: stage('els_event_settled_delay_seconds', { event: 'content' }),
    outboxPublishLag: stage('els_outbox_publish_lag_seconds'),
    eventLoopLagP99Ms: worstEventLoopLateness(expositions),
  };
}

async function produce(spec: WorkerRunSpec, topicPrefix: string, outDir: string): Promise<void> {
  const args = [
    generatorEntry,
    'produce',
    '--brokers',
    KAFKA_BROKERS.join(','),
    '--topic-prefix',
    topicPrefix,
    '--batches',
    String(spec.batches),
    '--slots',
    String(spec.slots),
    '--rate',
    String(spec.offeredPerSec),
    '--out',
    outDir,
    '--skip-topic-creation',
    '--progress-interval',
    '1000',
    '--run-id',
    path.basename(outDir),
    ...(spec.offeredPerSec > 0 ? ['--duration', String(spec.durationS)] : ['--waves', '1']),
  ];
  await run(process.execPath, args, { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
}

/** Texts sent (batch, text) → send time, from the generator's sent log. */
function sentTimes(outDir: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of fs.readFileSync(path.join(outDir, 'sent.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as {
      kind: string;
      batchId: string;
      textStorageId: string | null;
      sentAtMs: number;
    };
    if (entry.kind === 'content' && entry.textStorageId)
      times.set(`${entry.batchId}/${entry.textStorageId}`, entry.sentAtMs);
  }
  return times;
}

/**
 * Last text → completion event on the topic, per completed batch: from the last text's send time (when
 * the replicas were running while it was sent) and from its assignment. Completion records are read
 * back after the run; their timestamps are the relay's publish times.
 */
async function completionLatency(
  kafka: ReturnType<typeof createTestKafka>,
  topicPrefix: string,
  rows: ReadonlyArray<{ batchId: string; textStorageId: string; at: number }>,
  sent: ReadonlyMap<string, number>,
  completed: number,
  /** Paced runs: the first send time (warm-up is measured from it); drains: undefined. */
  firstSentAt: number | undefined,
): Promise<CompletionLatency> {
  const lastAssigned = new Map<string, number>();
  const lastSent = new Map<string, number>();
  for (const row of rows) {
    lastAssigned.set(row.batchId, Math.max(lastAssigned.get(row.batchId) ?? 0, row.at));
    const sentAt = sent.get(`${row.batchId}/${row.textStorageId}`);
    if (sentAt !== undefined) lastSent.set(row.batchId, Math.max(lastSent.get(row.batchId) ?? 0, sentAt));
  }
  const topic = topicName(TOPICS.batchContentProvisioningCompleted, topicPrefix);
  const records = await readTopic(kafka, topic, completed);
  const fromSent: number[] = [];
  const steadyFromSent: number[] = [];
  const fromAssigned: number[] = [];
  for (const record of records) {
    const data = record.value?.['data'] as { batch_id?: unknown } | undefined;
    const batchId = String(data?.batch_id);
    const assignedAt = lastAssigned.get(batchId);
    const sentAt = lastSent.get(batchId);
    if (assignedAt !== undefined) fromAssigned.push(record.timestampMs - assignedAt);
    if (firstSentAt === undefined || sentAt === undefined) continue;
    fromSent.push(record.timestampMs - sentAt);
    if (sentAt - firstSentAt >= WARMUP_MS) steadyFromSent.push(record.timestampMs - sentAt);
  }
  return {
    batches: records.length,
    fromLastSentMs: percentilesOf(fromSent),
    steadyFromLastSentMs: percentilesOf(steadyFromSent),
    fromLastAssignedMs: percentilesOf(fromAssigned),
  };
}

/** One end-to-end run: replicas as processes, real broker, fresh database; produced → assigned → committed. */
export async function measureWorkerRun(spec: WorkerRunSpec): Promise<WorkerRun> {
  const db = await createTestDatabase({ max: 2 });
  const label = `bench-${spec.replicas}r-${spec.offeredPerSec || 'drain'}`;
  const { topicPrefix, consumerGroup } = uniqueKafkaNames(label);
  const kafka = createTestKafka(label);
  const cluster = createWorkerCluster({
    label,
    replicas: spec.replicas,
    databaseUrl: db.url,
    topicPrefix,
    consumerGroup,
    logDir: spec.logDir,
    // Info level: the harness reads each replica's HTTP port from its start-up log line.
    env: { ELS_DB_POOL_MAX: '5' },
    ...(spec.replicaCpus === undefined ? {} : { replicaCpus: spec.replicaCpus }),
  });
  let lockSampler: LockWaitSampler | undefined;
  const outDir = path.join(spec.logDir, `${label}-generator`);
  let warmUp: Promise<string[] | undefined> = Promise.resolve(undefined);
  try {
    await cluster.migrate();
    const redisWindow = await redisLatencyWindow();
    const cpuAtStart = sampleCpu();
    let generatorCpuS = 0;
    const produceMeasured = async () => {
      const before = sampleCpu().children;
      await produce(spec, topicPrefix, outDir);
      generatorCpuS = sampleCpu().children - before;
    };
    // Paced runs count replica CPU from readiness on (start-up is not per-text work). A drain's replicas
    // start on a full backlog and work before all of them are ready, so there it counts from process
    // start, start-up included.
    let replicaCpuAtReady = 0;
    const startMeasured = async () => {
      await cluster.start();
      replicaCpuAtReady = await replicaCpuSeconds(cluster);
    };
    if (spec.offeredPerSec === 0) {
      await produceMeasured();
      lockSampler = sampleLockWaits(db.sql);
      await startMeasured();
    } else {
      lockSampler = sampleLockWaits(db.sql);
      await startMeasured();
      // Paced runs: a second scrape once the warm-up is over, so stages can leave it out.
      warmUp = delay(WARMUP_MS)
        .then(() => metricsOf(cluster))
        .catch(() => undefined);
      await produceMeasured();
    }
    const sent = sentTimes(outDir);
    const texts = sent.size;
    await waitFor(
      `${texts} texts assigned`,
      async () => {
        const [row] = await db.sql<Array<{ n: number }>>`
          select count(*)::int as n from essay_states where status = 'ready_for_processing'`;
        return (row?.n ?? 0) >= texts;
      },
      { timeoutMs: 600_000, intervalMs: 250 },
    );
    const assignedAt = Date.now();
    const lockWaits = await lockSampler.stop();
    lockSampler = undefined;
    const throttling = spec.replicaCpus === undefined ? undefined : cluster.cpuThrottling?.();
    const contentTopic = topicName(TOPICS.essayContentProvisioned, topicPrefix);
    await waitFor(
      'every content offset committed',
      async () => (await uncommittedMessages(kafka, consumerGroup, contentTopic)) === 0,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const committedAfterMs = Date.now() - assignedAt;
    const finalMetrics = await scrapeMetrics(cluster, spec.logDir, label);
    const cpuAtEnd = sampleCpu();
    const stages = stagesOf(finalMetrics, await warmUp);
    const perText = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, texts));
    const cpu = {
      replicas: perText(
        sum(metricValues(finalMetrics, 'process_cpu_seconds_total')) -
          (spec.offeredPerSec > 0 ? replicaCpuAtReady : 0),
      ),
      postgres: perText(cpuAtEnd.postgres - cpuAtStart.postgres),
      kafka: perText(cpuAtEnd.kafka - cpuAtStart.kafka),
      redis: perText(cpuAtEnd.redis - cpuAtStart.redis),
      generator: perText(generatorCpuS),
    };
    const rows = await db.sql<Array<{ batchId: string; textStorageId: string; at: number }>>`
      select batch_id as "batchId", text_storage_id as "textStorageId",
             (extract(epoch from updated_at) * 1000)::float8 as at
      from essay_states where status = 'ready_for_processing'`;
    const assigned = rows.map((r) => r.at).sort((a, b) => a - b);
    let firstSent = Number.POSITIVE_INFINITY;
    for (const at of sent.values()) firstSent = Math.min(firstSent, at);
    const first = spec.offeredPerSec === 0 ? (assigned[0] ?? 0) : firstSent;
    const last = assigned.at(-1) ?? first;
    const sentAtOf = rows.map((r) => sent.get(`${r.batchId}/${r.textStorageId}`));
    const latencies = rows.map((r, i) => r.at - (sentAtOf[i] ?? r.at));
    // The latency of every text by its send time, to see when in the run the slow ones were sent.
    fs.writeFileSync(
      path.join(spec.logDir, `${label}-latency.csv`),
      `sent_at_ms,assigned_after_ms\n${rows
        .map((_, i) => `${sentAtOf[i] ?? ''},${Math.round(latencies[i] ?? 0)}`)
        .sort()
        .join('\n')}\n`,
    );
    const [done] = await db.sql<Array<{ n: number }>>`
      select count(*)::int as n from batches where completed_at is not null`;
    const completion = await completionLatency(
      kafka,
      topicPrefix,
      rows,
      sent,
      done?.n ?? 0,
      spec.offeredPerSec > 0 ? firstSent : undefined,
    );
    const rss = cluster.replicas.map((_, i) => cluster.rssBytes(i) ?? 0);
    const maxRss = rss.reduce((a, b) => Math.max(a, b), 0);
    return {
      replicas: spec.replicas,
      offeredPerSec: spec.offeredPerSec,
      texts,
      achievedPerSec: Math.round(texts / Math.max(0.001, (last - first) / 1000)),
      // Produce → assigned only means something when the replicas were running while it was produced.
      latencyMs: spec.offeredPerSec === 0 ? null : percentilesOf(latencies),
      steadyLatencyMs:
        spec.offeredPerSec === 0
          ? null
          : percentilesOf(latencies.filter((_, i) => (sentAtOf[i] ?? firstSent) - firstSent >= WARMUP_MS)),
      rssMb: Math.round(maxRss / 1024 / 1024),
      offsetsCommittedAfterMs: committedAfterMs,
      stages,
      completion,
      replicaStartupCpuMs:
        spec.offeredPerSec > 0 ? Math.round((replicaCpuAtReady * 1000) / spec.replicas) : null,
      cpuMicrosPerText: {
        ...cpu,
        total: cpu.replicas + cpu.postgres + cpu.kafka + cpu.redis + cpu.generator,
      },
      redisServer: (await redisWindow.read()).filter((entry) => ['mget', 'set'].includes(entry.command)),
      lockWaits,
      ...(spec.replicaCpus === undefined ? {} : { replicaCpus: spec.replicaCpus }),
      ...(throttling ? { throttling } : {}),
    };
  } finally {
    await lockSampler?.stop();
    await cluster.stop();
    cluster.dispose?.();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await db.drop();
  }
}
