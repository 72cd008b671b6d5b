import { randomUUID } from 'node:crypto';
import type { Batch, Consumer, Kafka, Producer } from 'kafkajs';
import { keyPartitioner } from '../kafka/event-producer';
import type { Logger } from '../logger';
import {
  cursorGroupId,
  deadLetterTopic,
  decideLetter,
  readDeadLetter,
  replayableTopics,
  type ReplayFilters,
} from './dead-letter-selection';
import { planReplay, type PartitionPlan, type ReplayPlan } from './replay-plan';
import { replayRecord, startsNewChunk, topicMessagesOf, type ReplayRecord } from './replay-records';
import {
  emptySkipCounts,
  HELD_BACK_ACTIONS,
  type LetterListing,
  type ReplayProgress,
  type ReplaySummary,
} from './replay-report';

/**
 * Replays dead letters: produces each selected letter's key and value, byte for byte, back to the input
 * topic it came from, with `x-els-replay-of: <dead-letter topic>/<partition>/<offset>`.
 *
 * Termination: the dead-letter topic's end offsets are snapshotted first and every partition is read only
 * up to them, so letters dead-lettered again while the replay runs (a cause that is not fixed) wait for the
 * next run instead of feeding a loop; a run with no progress for `stallTimeoutMs` fails instead of waiting.
 *
 * Idempotence: the cursor of a filter set is the committed offsets of a consumer group named after a hash
 * of the normalised filters and the prefix (`cursorGroupId`). The replay reads from that cursor and commits
 * past a chunk of letters only once the produce of the chunk is acknowledged by all in-sync replicas
 * (idempotent producer), so running the same command again replays nothing it already replayed, and a
 * crash replays at most the chunk in flight (harmless: the worker applies a replayed event once, by its
 * event id and the database's unique keys). Why a group per filter set rather than one cursor per letter:
 * it is a few offsets on the broker that Kafka already keeps, with no topic or table to create or migrate,
 * and the run is a member of that group while it works, so a second run of the same command is seen and
 * refused instead of replaying the same letters concurrently. What it does not give: a different filter set
 * has its own cursor and may replay letters another one already replayed (the worker's idempotence makes
 * that harmless; `--dry-run` shows it first), and the broker forgets a group's offsets
 * `offsets.retention.minutes` (7 days by default) after the group last had a member. `--from-beginning`
 * starts at the earliest letter and moves the cursor back there as it commits.
 *
 * A dry run reads from the same cursor in a throwaway group, produces nothing and commits nothing.
 * Siblings: dead-letter-selection (which letters), replay-plan (start points and the snapshot),
 * replay-records (what is produced), replay-report (what is printed).
 */

export interface DeadLetterReplayOptions {
  readonly kafka: Kafka;
  readonly topicPrefix: string;
  /** Resolved with `resolveReplayFilters` against the same prefix. */
  readonly filters: ReplayFilters;
  readonly dryRun: boolean;
  /** Ignore the cursor: start every partition at its earliest retained letter. */
  readonly fromBeginning: boolean;
  readonly logger: Logger;
  /** Called every `progressIntervalMs` while reading, and once at the end (phase `done` or `failed`). */
  readonly onProgress?: (progress: ReplayProgress) => void;
  /** Letters the operator should see (a dry run's selection, letters held back or refused). */
  readonly onLetter?: (listing: LetterListing) => void;
  readonly progressIntervalMs?: number;
  readonly stallTimeoutMs?: number;
}

export type ReplayFailureReason = 'topic-missing' | 'concurrent-run' | 'stalled' | 'kafka';

/** The replay stopped before its snapshot was read; what was committed before stays replayed. */
export class DeadLetterReplayError extends Error {
  override readonly name = 'DeadLetterReplayError';
  constructor(
    readonly reason: ReplayFailureReason,
    message: string,
    readonly progress: ReplayProgress,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

const DEFAULT_PROGRESS_INTERVAL_MS = 5000;
const DEFAULT_STALL_TIMEOUT_MS = 60_000;
/** Short, so a crashed run's membership expires soon and does not block the next run for long. */
const SESSION_TIMEOUT_MS = 10_000;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function replayDeadLetters(options: DeadLetterReplayOptions): Promise<ReplaySummary> {
  const { kafka, filters, dryRun, logger } = options;
  const startedAt = Date.now();
  const topic = deadLetterTopic(options.topicPrefix);
  const cursorGroup = cursorGroupId(filters);
  const counters = { read: 0, selected: 0, replayed: 0, skipped: emptySkipCounts() };
  let plan: ReplayPlan | undefined;
  const partitions = () => [...(plan?.partitions.values() ?? [])];
  const progress = (phase: ReplayProgress['phase']): ReplayProgress => ({
    phase,
    partitions: partitions().length,
    partitionsDone: partitions().filter((entry) => entry.done).length,
    toRead: plan?.toRead ?? 0,
    ...counters,
    skipped: { ...counters.skipped },
  });
  const fail = (reason: ReplayFailureReason, message: string, cause?: unknown) =>
    new DeadLetterReplayError(reason, message, progress('failed'), { cause });

  const admin = kafka.admin();
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  const timers: NodeJS.Timeout[] = [];
  const readerGroup = dryRun ? `els-dead-letter-replay-dry-run-${randomUUID().slice(0, 8)}` : cursorGroup;
  try {
    await admin.connect();
    const planned = await planReplay(admin, {
      deadLetterTopic: topic,
      inputTopics: replayableTopics(options.topicPrefix),
      cursorGroup,
      fromBeginning: options.fromBeginning,
      refuseActiveCursorGroup: !dryRun,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
    });
    if (planned.kind === 'refused') throw fail(planned.reason, planned.message);
    plan = planned.plan;
    const log = { cursorGroup, topic, dryRun, partitions: plan.partitions.size, toRead: plan.toRead };
    if (partitions().every((entry) => entry.done)) {
      logger.info(log, 'Dead-letter replay has nothing to read');
    } else {
      logger.info(log, 'Dead-letter replay started');
      if (!dryRun) {
        producer = kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: keyPartitioner,
        });
        await producer.connect();
      }
      consumer = kafka.consumer({
        groupId: readerGroup,
        allowAutoTopicCreation: false,
        sessionTimeout: SESSION_TIMEOUT_MS,
        rebalanceTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: 1000,
        maxWaitTimeInMs: 500,
      });
      await read(plan, consumer, producer);
    }
    const summary: ReplaySummary = {
      ...progress('done'),
      dryRun,
      fromBeginning: options.fromBeginning,
      deadLetterTopic: topic,
      cursorGroup,
      durationMs: Date.now() - startedAt,
    };
    options.onProgress?.(summary);
    logger.info({ ...summary }, 'Dead-letter replay finished');
    return summary;
  } catch (error) {
    const failure =
      error instanceof DeadLetterReplayError
        ? error
        : fail('kafka', `replay failed: ${messageOf(error)}`, error);
    logger.error({ reason: failure.reason, err: failure.message }, 'Dead-letter replay failed');
    options.onProgress?.(progress('failed'));
    throw failure;
  } finally {
    for (const timer of timers) clearInterval(timer);
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    // The throwaway group of a dry run committed nothing; removing it keeps the group list readable.
    if (dryRun && consumer) await admin.deleteGroups([readerGroup]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }

  /** Reads every partition from its start up to the snapshot, replaying as it goes; resolves when all are read. */
  async function read(current: ReplayPlan, reader: Consumer, writer: Producer | undefined): Promise<void> {
    let lastProgressAt = Date.now();
    let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
    const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // A failure reported after run() itself threw must not become an unhandled rejection.
    finished.catch(() => undefined);
    let failure: Error | undefined;
    const stop = (error?: Error) => {
      if (error && !failure) failure = error;
      if (failure) settle?.reject(failure);
      else settle?.resolve();
    };
    const checkDone = () => {
      if (partitions().every((entry) => entry.done)) stop();
    };

    reader.on(reader.events.GROUP_JOIN, ({ payload }) => {
      lastProgressAt = Date.now();
      const assigned = new Set(payload.memberAssignment[topic] ?? []);
      if (partitions().some((entry) => !assigned.has(entry.partition))) {
        stop(fail('concurrent-run', `another member joined consumer group ${readerGroup}; run again later`));
        return;
      }
      // Every (re)join starts from the plan, not from what kafkajs thinks: after a rebalance it would go
      // back to the committed cursor, which a --from-beginning run has not written yet.
      for (const entry of partitions()) {
        if (!entry.done) reader.seek({ topic, partition: entry.partition, offset: entry.next.toString() });
      }
      const done = partitions().filter((entry) => entry.done);
      if (done.length > 0) reader.pause([{ topic, partitions: done.map((entry) => entry.partition) }]);
    });
    reader.on(reader.events.CRASH, ({ payload }) => {
      if (!payload.restart)
        stop(fail('kafka', `the consumer crashed: ${payload.error.message}`, payload.error));
    });
    // A fetch that held only control records reaches no handler but moves the position past them.
    reader.on(reader.events.END_BATCH_PROCESS, ({ payload }) => {
      const entry = current.partitions.get(payload.partition);
      if (payload.topic !== topic || payload.batchSize > 0 || !entry || entry.done) return;
      const after = BigInt(payload.lastOffset) + 1n;
      if (after > entry.next) entry.next = after;
      entry.done = entry.next >= entry.end;
      checkDone();
    });

    const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    timers.push(
      setInterval(
        () => options.onProgress?.(progress('reading')),
        options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
      ),
      setInterval(() => {
        if (Date.now() - lastProgressAt <= stallTimeoutMs) return;
        const waiting = partitions().filter((entry) => !entry.done);
        const message = `no letter arrived for ${stallTimeoutMs} ms from partitions ${waiting.map((entry) => entry.partition).join(', ')} of ${topic}; what was replayed so far is committed, run again`;
        stop(fail('stalled', message));
      }, 1000),
    );
    for (const timer of timers) timer.unref();

    await reader.connect();
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await reader.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (failure || !isRunning() || isStale()) return;
        const entry = current.partitions.get(batch.partition);
        if (batch.topic !== topic || !entry || entry.done) return;
        try {
          const from = entry.next;
          // Progress is the cursor moving, not a fetch: letters handled before may be fetched again.
          await replayBatch(batch, entry, current, reader, writer, async () => {
            if (entry.next > from) lastProgressAt = Date.now();
            await heartbeat();
          });
          // kafkajs fetches from the offsets it was told are handled, not from the cursor: without this it
          // fetches the same letters again, and an oversized letter behind them is cut off every time.
          if (entry.next > from) resolveOffset((entry.next - 1n).toString());
          checkDone();
        } catch (error) {
          // Not rethrown: kafkajs would fetch the batch again, and the cursor must not move past it.
          stop(fail('kafka', `replay failed: ${messageOf(error)}`, error));
        }
      },
    });
    await finished;
  }

  /**
   * Handles one fetched batch of one partition in offset order, up to the snapshot: each selected letter
   * joins a chunk; a full chunk is produced, and only once the broker has acknowledged it is the cursor
   * committed past it (and past the letters skipped in between).
   */
  async function replayBatch(
    batch: Batch,
    entry: PartitionPlan,
    current: ReplayPlan,
    reader: Consumer,
    writer: Producer | undefined,
    stepDone: () => Promise<void>,
  ): Promise<void> {
    let chunk: ReplayRecord[] = [];
    let chunkBytes = 0;
    const flush = async (next: bigint) => {
      if (chunk.length > 0 && writer) {
        await writer.sendBatch({ acks: -1, topicMessages: topicMessagesOf(chunk) });
        counters.replayed += chunk.length;
      }
      chunk = [];
      chunkBytes = 0;
      if (!dryRun && next > entry.next) {
        await reader.commitOffsets([{ topic, partition: entry.partition, offset: next.toString() }]);
      }
      entry.next = next;
      await stepDone();
    };

    let position = entry.next;
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (offset < position) continue;
      if (offset >= entry.end) break;
      position = offset + 1n;
      const letter = readDeadLetter(batch.partition, message);
      counters.read += 1;
      const decision = decideLetter(letter, filters);
      if (decision.action === 'skip') {
        counters.skipped[decision.reason] += 1;
        const heldBack = HELD_BACK_ACTIONS[decision.reason];
        if (heldBack) {
          counters.selected += 1;
          options.onLetter?.({ action: heldBack, letter });
        }
        continue;
      }
      counters.selected += 1;
      if (dryRun) {
        counters.replayed += 1;
        options.onLetter?.({ action: 'would-replay', letter });
        continue;
      }
      const record = replayRecord(letter, decision.sourceTopic, topic, current.inputPartitions);
      if (startsNewChunk(chunk, chunkBytes, record)) await flush(offset);
      chunk.push(record);
      chunkBytes += record.bytes;
    }
    await flush(position);
    if (entry.next >= entry.end) {
      entry.done = true;
      // Nothing more is wanted from a finished partition: fetching it would only bring later letters.
      reader.pause([{ topic, partitions: [entry.partition] }]);
    }
  }
}
