import type { Consumer, Kafka } from 'kafkajs';
import type { BatchHandler, InboundMessage } from '../consumer/message-types';
import type { Logger } from '../logger';

export interface EventConsumerOptions {
  groupId: string;
  topics: readonly string[];
  partitionsConsumedConcurrently: number;
  handleBatch: BatchHandler;
  logger: Logger;
  /** Per-partition lag after each batch (high watermark minus the next offset to process). */
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** Group membership changed (joined after a rebalance, or left / crashed). */
  onMembership?: (joined: boolean) => void;
  /** The consumer crashed and kafkajs will not restart it; the process should shut down. */
  onFatal?: (error: Error) => void;
  /** Read from the earliest offset when the group has no committed offset (default true). */
  fromBeginning?: boolean;
  /** Group session timeout (default 30 s): a member silent for longer is evicted by the coordinator. */
  sessionTimeoutMs?: number;
}

export interface EventConsumerStopOptions {
  /**
   * How long the in-flight batch may go on after stop was requested: it finishes its current steps if the
   * dependencies answer, and gives up (leaving its unresolved messages for redelivery) when they do not.
   */
  drainMs?: number;
}

export interface EventConsumer {
  start(): Promise<void>;
  stop(options?: EventConsumerStopOptions): Promise<void>;
  /**
   * True while this member belongs to the group (readiness): false from a rebalance until it has joined
   * again, after a crash, and once it has not heartbeaten for a session timeout (the coordinator evicted it).
   */
  joined(): boolean;
  /** True when stopping left fetched messages unresolved: their offsets were not committed (redelivered). */
  leftWorkUncommitted(): boolean;
}

const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const DEFAULT_DRAIN_MS = 5000;
// Heartbeat answers that mean the coordinator no longer counts this member as part of the current generation.
const MEMBERSHIP_LOST = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION']);

/**
 * The consumer-group adapter: `eachBatch` with manual offset resolution. The processor resolves an
 * offset only after its database transaction committed; resolved offsets are committed at the end of each
 * batch, and on stop after the in-flight batch finished.
 */
export function createEventConsumer(kafka: Kafka, options: EventConsumerOptions): EventConsumer {
  const { logger } = options;
  let consumer: Consumer | undefined;
  let isJoined = false;
  let stopping: Promise<void> | undefined;
  let drainUntil: number | undefined;
  let workLeft = false;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  // The coordinator evicts a member it has not heard from for a session timeout; a process that was paused
  // (or cut off) that long is not in the group any more even though no event told it so.
  let lastContactAt = 0;

  function setJoined(value: boolean) {
    if (value) lastContactAt = Date.now();
    if (isJoined === value) return;
    isJoined = value;
    options.onMembership?.(value);
  }

  return {
    joined: () => isJoined && Date.now() - lastContactAt < sessionTimeoutMs,
    leftWorkUncommitted: () => workLeft,
    async start() {
      if (consumer) return;
      const created = kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: sessionTimeoutMs,
        rebalanceTimeout: 60_000,
        heartbeatInterval: 3000,
        maxWaitTimeInMs: 100,
        retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
      });
      consumer = created;
      created.on(created.events.GROUP_JOIN, ({ payload }) => {
        logger.info(
          { groupId: payload.groupId, memberId: payload.memberId, assignment: payload.memberAssignment },
          'Consumer joined group',
        );
        setJoined(true);
      });
      created.on(created.events.HEARTBEAT, () => {
        lastContactAt = Date.now();
      });
      created.on(created.events.REBALANCING, () => {
        logger.info({}, 'Consumer group rebalancing');
        setJoined(false);
      });
      created.on(created.events.STOP, () => setJoined(false));
      created.on(created.events.DISCONNECT, () => setJoined(false));
      created.on(created.events.CRASH, ({ payload }) => {
        setJoined(false);
        logger.error({ err: payload.error, restart: payload.restart }, 'Consumer crashed');
        if (!payload.restart) options.onFatal?.(payload.error);
      });
      try {
        await created.connect();
        await created.subscribe({
          topics: [...options.topics],
          fromBeginning: options.fromBeginning ?? true,
        });
      } catch (error) {
        // A broker that is still loading its partitions refuses the subscription; leave nothing behind so
        // that start() can be called again.
        consumer = undefined;
        await created.disconnect().catch(() => undefined);
        throw error;
      }
      await created.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachBatch: async ({
          batch,
          resolveOffset,
          heartbeat,
          commitOffsetsIfNecessary,
          isRunning,
          isStale,
        }) => {
          const messages: InboundMessage[] = batch.messages.map((message) => ({
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            key: message.key,
            value: message.value,
            timestampMs: Number(message.timestamp),
          }));
          let lastResolved: bigint | undefined;
          const lastOffset = messages.length > 0 ? BigInt(batch.lastOffset()) : undefined;
          const leftUnresolved = () =>
            lastOffset !== undefined && (lastResolved === undefined || lastResolved < lastOffset);
          try {
            await options.handleBatch(messages, {
              resolveOffset(offset) {
                resolveOffset(offset);
                lastResolved = BigInt(offset);
              },
              async heartbeat() {
                try {
                  await heartbeat();
                } catch (error) {
                  if (MEMBERSHIP_LOST.has((error as { type?: string }).type ?? '')) setJoined(false);
                  throw error;
                }
              },
              // On stop the batch may finish for a while (drain) but never waits on a dead dependency past it.
              isActive: () =>
                !isStale() && (isRunning() || (drainUntil !== undefined && Date.now() < drainUntil)),
            });
          } finally {
            if (!isRunning() && leftUnresolved()) workLeft = true;
          }
          await commitOffsetsIfNecessary();
          if (lastResolved !== undefined) {
            const lag = BigInt(batch.highWatermark) - (lastResolved + 1n);
            options.onLag?.(batch.topic, batch.partition, Number(lag > 0n ? lag : 0n));
          }
        },
      });
      logger.info({ groupId: options.groupId, topics: options.topics }, 'Consumer started');
    },
    async stop(stopOptions = {}) {
      if (!consumer) return;
      stopping ??= (async () => {
        drainUntil = Date.now() + (stopOptions.drainMs ?? DEFAULT_DRAIN_MS);
        const current = consumer;
        // disconnect() stops fetching, waits for the in-flight batch, commits resolved offsets and leaves
        // the group, so another member takes the partitions over at once.
        await current?.disconnect();
        setJoined(false);
        logger.info({}, 'Consumer stopped');
      })();
      await stopping;
    },
  };
}
