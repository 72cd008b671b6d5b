import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TOPICS, topicName } from '@els/contracts';
import { createTestDatabase, uniqueKafkaNames, waitFor } from '@els/coordination/testing';
import {
  committedOffsets,
  createTestKafka,
  deleteTopicsWithPrefix,
  endOffsets,
} from '../harness/kafka-probe';
import { KAFKA_BROKERS, repoRoot } from '../harness/paths';
import { createWorkerCluster } from '../harness/process-cluster';

const run = promisify(execFile);
const generatorEntry = path.join(repoRoot, 'dist', 'apps', 'event-generator', 'main.js');

export interface WorkerRun {
  replicas: number;
  /** 0 = backlog drain: everything is produced first, then the replicas start (flat out). */
  offeredPerSec: number;
  texts: number;
  achievedPerSec: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number } | null;
  rssMb: number;
  offsetsCommittedAfterMs: number;
}

export interface WorkerRunSpec {
  replicas: number;
  offeredPerSec: number;
  batches: number;
  slots: number;
  durationS: number;
  logDir: string;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
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
  });
  const outDir = path.join(spec.logDir, `${label}-generator`);
  try {
    await cluster.migrate();
    if (spec.offeredPerSec === 0) {
      await produce(spec, topicPrefix, outDir);
      await cluster.start();
    } else {
      await cluster.start();
      await produce(spec, topicPrefix, outDir);
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
    const contentTopic = topicName(TOPICS.essayContentProvisioned, topicPrefix);
    await waitFor(
      'every content offset committed',
      async () => {
        const [committed, end] = await Promise.all([
          committedOffsets(kafka, consumerGroup, contentTopic),
          endOffsets(kafka, contentTopic),
        ]);
        return [...end].every(([partition, high]) => (committed.get(partition) ?? -1) >= high);
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const committedAfterMs = Date.now() - assignedAt;
    const rows = await db.sql<Array<{ batchId: string; textStorageId: string; at: number }>>`
      select batch_id as "batchId", text_storage_id as "textStorageId",
             (extract(epoch from updated_at) * 1000)::float8 as at
      from essay_states where status = 'ready_for_processing'`;
    const assigned = rows.map((r) => r.at).sort((a, b) => a - b);
    let firstSent = Number.POSITIVE_INFINITY;
    for (const at of sent.values()) firstSent = Math.min(firstSent, at);
    const first = spec.offeredPerSec === 0 ? (assigned[0] ?? 0) : firstSent;
    const last = assigned.at(-1) ?? first;
    const latencies = rows
      .map((r) => r.at - (sent.get(`${r.batchId}/${r.textStorageId}`) ?? r.at))
      .sort((a, b) => a - b);
    const rss = cluster.replicas.map((_, i) => cluster.rssBytes(i) ?? 0);
    const maxRss = rss.reduce((a, b) => Math.max(a, b), 0);
    return {
      replicas: spec.replicas,
      offeredPerSec: spec.offeredPerSec,
      texts,
      achievedPerSec: Math.round(texts / Math.max(0.001, (last - first) / 1000)),
      // Produce → assigned only means something when the replicas were running while it was produced.
      latencyMs:
        spec.offeredPerSec === 0
          ? null
          : {
              p50: Math.round(percentile(latencies, 0.5)),
              p95: Math.round(percentile(latencies, 0.95)),
              p99: Math.round(percentile(latencies, 0.99)),
              max: Math.round(latencies.at(-1) ?? 0),
            },
      rssMb: Math.round(maxRss / 1024 / 1024),
      offsetsCommittedAfterMs: committedAfterMs,
    };
  } finally {
    await cluster.stop();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await db.drop();
  }
}
