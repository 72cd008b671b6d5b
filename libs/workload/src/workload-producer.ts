import { createHash } from 'node:crypto';
import type { Message, Producer, RecordMetadata } from 'kafkajs';
import { partitionForKey, topicName } from '@els/contracts';
import { systemClock, type Clock } from './clock';
import { classifySendError } from './send-error';
import type { SentLogLine, SentLogWriter } from './sent-log';
import { createTokenBucket } from './token-bucket';
import { planWave, type BatchExpectation, type PlannedSend, type SendKind } from './workload-plan';
import type { WorkloadOptions } from './workload-options';

export interface ProduceOptions {
  topicPrefix: string;
  /** Offered rate in events/s; 0 sends flat out. */
  ratePerSec: number;
  /** Keep planning new waves until this much time has passed (the last wave is always finished); 0 = use `waves`. */
  durationMs: number;
  /** Number of waves when `durationMs` is 0. */
  waves: number;
  /** Most messages per `sendBatch` call. */
  chunkSize: number;
  progressIntervalMs: number;
  /** How long one chunk is retried through broker outages before the run fails. */
  retryForMs: number;
  /**
   * When above 0: each wave's registrations go out first, then this long a pause, then the rest of the
   * wave, so its texts reach batches already registered and the replicas race for their slots (rather than
   * one replica draining them from pending content). Needs a workload without texts before registration.
   */
  registrationLeadMs?: number;
}

export interface ProduceProgress {
  sent: number;
  planned: number;
  /** Waves started so far. */
  waves: number;
  elapsedMs: number;
  /** Achieved rate since the previous progress report. */
  recentPerSec: number;
}

export interface ProduceDeps {
  /** A connected producer. */
  producer: Producer;
  /** Partition count per prefixed topic (from `ensureInputTopics`). */
  partitionCounts: Readonly<Record<string, number>>;
  sentLog?: SentLogWriter;
  clock?: Clock;
  onProgress?: (progress: ProduceProgress) => void;
  /** Stops after the chunk in flight. */
  signal?: AbortSignal;
  /** Told about each failed send that will be retried (the chunk may then reach the topic twice). */
  onRetry?: (error: unknown, attempt: number) => void;
}

export interface ProduceSummary {
  startedAt: string;
  durationMs: number;
  runId: string;
  seed: number;
  topicPrefix: string;
  waves: number;
  batches: number;
  planned: number;
  sent: number;
  rejected: number;
  byKind: Record<SendKind, number>;
  offeredPerSec: number;
  achievedPerSec: number;
  aborted: boolean;
}

export interface ProduceResult {
  summary: ProduceSummary;
  expectations: BatchExpectation[];
}

export const DEFAULT_PRODUCE_OPTIONS: ProduceOptions = {
  topicPrefix: '',
  ratePerSec: 0,
  durationMs: 0,
  waves: 1,
  chunkSize: 500,
  progressIntervalMs: 2000,
  retryForMs: 120_000,
};

/** Where one message goes: its prefixed topic and the partition its key maps to. */
interface Placement {
  topic: string;
  partition: number;
}

/** Values above this go out alone, so a broker refusing one cannot leave a shared request half-written. */
const LARGE_VALUE_BYTES = 512 * 1024;

const sha256 = (value: Buffer) => createHash('sha256').update(value).digest('hex');

function chunksOf(sends: readonly PlannedSend[], size: number): PlannedSend[][] {
  const chunks: PlannedSend[][] = [];
  let current: PlannedSend[] = [];
  for (const send of sends) {
    if (send.value.length > LARGE_VALUE_BYTES) {
      if (current.length > 0) chunks.push(current);
      chunks.push([send]);
      current = [];
      continue;
    }
    current.push(send);
    if (current.length >= size) {
      chunks.push(current);
      current = [];
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Plans and produces the workload wave by wave, at the offered rate, and records every acknowledged
 * message in the sent log. Send order is kept within each partition (one `sendBatch` at a time).
 */
export async function produceWorkload(
  workload: WorkloadOptions,
  options: ProduceOptions,
  deps: ProduceDeps,
): Promise<ProduceResult> {
  if ((options.registrationLeadMs ?? 0) > 0 && workload.beforeRegistration > 0) {
    throw new Error(
      'registrationLeadMs sends registrations first, so it cannot be combined with beforeRegistration > 0',
    );
  }
  const clock = deps.clock ?? systemClock;
  const chunkSize =
    options.ratePerSec > 0
      ? Math.min(options.chunkSize, Math.max(1, Math.ceil(options.ratePerSec / 10)))
      : options.chunkSize;
  // Half a second of credit lets the run catch up after a slow request (an oversized message, a broker
  // hiccup) so that the achieved rate averages out to the offered one.
  const bucket = createTokenBucket(
    { ratePerSec: options.ratePerSec, burst: Math.max(chunkSize, options.ratePerSec / 2) },
    clock,
  );
  const partitionsOf = (topic: string): number => {
    const count = deps.partitionCounts[topic];
    if (count === undefined) throw new Error(`No partition count known for topic ${topic}`);
    return count;
  };
  const byKind: Record<SendKind, number> = {
    registration: 0,
    'registration-redelivery': 0,
    content: 0,
    duplicate: 0,
    'validation-failure': 0,
    malformed: 0,
  };
  const expectations: BatchExpectation[] = [];
  const startMs = clock.now();
  let planned = 0;
  let sent = 0;
  let rejected = 0;
  let seq = 0;
  let wave = 0;
  let wavesStarted = 0;
  let lastProgress = { atMs: startMs, sent: 0 };

  const report = (force: boolean) => {
    const now = clock.now();
    if (!deps.onProgress || (!force && now - lastProgress.atMs < options.progressIntervalMs)) return;
    const windowMs = Math.max(1, now - lastProgress.atMs);
    const recentPerSec = ((sent - lastProgress.sent) * 1000) / windowMs;
    deps.onProgress({ sent, planned, waves: wavesStarted, elapsedMs: now - startMs, recentPerSec });
    lastProgress = { atMs: now, sent };
  };

  /**
   * Sends one chunk. Returns the broker's refusal (only an oversized message alone in its chunk can be
   * refused) or the offset of each message, in chunk order, from the acknowledgement: each topic-partition's
   * base offset plus the message's position among that topic-partition's messages of the chunk.
   */
  const sendChunk = async (
    chunk: PlannedSend[],
    placed: Placement[],
  ): Promise<{ rejection: string; attempts: number } | { offsets: (string | null)[]; attempts: number }> => {
    const byTopic = new Map<string, Message[]>();
    chunk.forEach((send, index) => {
      const { topic, partition } = placed[index] as Placement;
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: send.key, value: send.value, partition });
      byTopic.set(topic, messages);
    });
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    const giveUpAt = clock.now() + options.retryForMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const acknowledged = await deps.producer.sendBatch({ topicMessages, acks: -1 });
        return { offsets: offsetsOf(placed, acknowledged), attempts: attempt + 1 };
      } catch (error) {
        const kind = classifySendError(error);
        if (kind === 'too-large' && chunk.length === 1) {
          return { rejection: 'MESSAGE_TOO_LARGE', attempts: attempt + 1 };
        }
        if (kind !== 'retriable' || clock.now() >= giveUpAt) throw error;
        deps.onRetry?.(error, attempt + 1);
        await clock.sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  };

  const offsetsOf = (placed: Placement[], acknowledged: RecordMetadata[]): (string | null)[] => {
    const base = new Map<string, bigint>();
    for (const meta of acknowledged) {
      if (meta.baseOffset !== undefined)
        base.set(`${meta.topicName}:${meta.partition}`, BigInt(meta.baseOffset));
    }
    const position = new Map<string, bigint>();
    return placed.map(({ topic, partition }) => {
      const at = `${topic}:${partition}`;
      const first = base.get(at);
      const index = position.get(at) ?? 0n;
      position.set(at, index + 1n);
      return first === undefined ? null : String(first + index);
    });
  };

  /** Sends planned messages in chunks at the offered rate, logging each as the broker acknowledges it. */
  const sendAll = async (sends: PlannedSend[]): Promise<void> => {
    for (const chunk of chunksOf(sends, chunkSize)) {
      if (deps.signal?.aborted) break;
      await bucket.take(chunk.length);
      const sentAtMs = clock.now();
      // Each message's topic and partition, computed once for the send, its offset and its log line.
      const placed = chunk.map((send): Placement => {
        const topic = topicName(send.topic, options.topicPrefix);
        return { topic, partition: partitionForKey(send.key, partitionsOf(topic)) };
      });
      const outcome = await sendChunk(chunk, placed);
      const rejection = 'rejection' in outcome ? outcome.rejection : undefined;
      const ackedAtMs = clock.now();
      const lines: SentLogLine[] = chunk.map((send, index) => {
        const { topic, partition } = placed[index] as Placement;
        const line: SentLogLine = {
          seq: (seq += 1),
          topic,
          partition,
          key: send.key,
          kind: send.kind,
          batchId: send.batchId,
          textStorageId: send.textStorageId ?? null,
          fileUploadId: send.fileUploadId ?? null,
          eventId: send.eventId ?? null,
          malformedClass: send.malformedClass ?? null,
          correlationId: send.correlationId ?? null,
          originalFileName: send.originalFileName ?? null,
          courseCode: send.courseCode ?? null,
          userId: send.userId ?? null,
          traceparent: send.traceparent ?? null,
          tracestate: send.tracestate ?? null,
          valueBytes: send.value.length,
          valueSha256: sha256(send.value),
          sentAtMs,
          ackedAtMs,
          offset: 'offsets' in outcome ? (outcome.offsets[index] ?? null) : null,
          attempts: outcome.attempts,
        };
        return rejection ? { ...line, rejected: rejection } : line;
      });
      if (rejection) rejected += chunk.length;
      else {
        sent += chunk.length;
        for (const send of chunk) byKind[send.kind] += 1;
      }
      await deps.sentLog?.write(lines);
      report(false);
    }
  };

  const hasTime = () =>
    options.durationMs > 0 ? clock.now() - startMs < options.durationMs : wave < options.waves;

  for (; hasTime() && !deps.signal?.aborted; wave += 1) {
    const plan = planWave(workload, wave);
    wavesStarted += 1;
    expectations.push(...plan.expectations);
    planned += plan.sends.length;
    const leadMs = options.registrationLeadMs ?? 0;
    if (leadMs > 0) {
      const first = plan.sends.filter((send) => send.kind === 'registration');
      await sendAll(first);
      await clock.sleep(leadMs);
      await sendAll(plan.sends.filter((send) => send.kind !== 'registration'));
    } else {
      await sendAll(plan.sends);
    }
  }
  report(true);

  const durationMs = clock.now() - startMs;
  return {
    expectations,
    summary: {
      startedAt: new Date(startMs).toISOString(),
      durationMs,
      runId: workload.runId,
      seed: workload.seed,
      topicPrefix: options.topicPrefix,
      waves: wavesStarted,
      batches: expectations.length,
      planned,
      sent,
      rejected,
      byKind,
      offeredPerSec: options.ratePerSec,
      achievedPerSec: durationMs > 0 ? Math.round((sent * 1000 * 10) / durationMs) / 10 : sent,
      aborted: deps.signal?.aborted ?? false,
    },
  };
}
