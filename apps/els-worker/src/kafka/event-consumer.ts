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
  /**
   * Most bytes one fetch takes from one partition (default 1 MiB, kafkajs's): with the heartbeat between
   * the steps of a batch, it bounds how much work a slow database can leave waiting in one fetch.
   */
  maxBytesPerPartition?: number;
  /** Read from the earliest offset when the group has no committed offset (default true). */
  fromBeginning?: boolean;
  /** Group session timeout (default 30 s): a member silent for longer is evicted by the coordinator. */
  sessionTimeoutMs?: number;
  /**
   * A consumer out of its group for longer than this (default: the session timeout plus the rebalance
   * timeout, 90 s) is replaced by a new one: kafkajs can stop fetching and heartbeating after a broker
   * restart without an error, and such a member would never rejoin on its own.
   */
  rejoinTimeoutMs?: number;
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
const REBALANCE_TIMEOUT_MS = 60_000;
const DEFAULT_DRAIN_MS = 5000;
/** How often the membership watchdog looks, and how long a stuck consumer's disconnect may take. */
const WATCHDOG_INTERVAL_MS = 1000;
const REPLACED_DISCONNECT_MS = 5000;
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
  const rejoinTimeoutMs = options.rejoinTimeoutMs ?? sessionTimeoutMs + REBALANCE_TIMEOUT_MS;
  let watchdog: NodeJS.Timeout | undefined;
  let outOfGroupSince: number | undefined;
  let replacing = false;

  function setJoined(value: boolean) {
    if (value) lastContactAt = Date.now();
    if (isJoined === value) return;
    isJoined = value;
    options.onMembership?.(value);
  }

  const joined = () => isJoined && Date.now() - lastContactAt < sessionTimeoutMs;

  /**
   * Replaces a consumer that has been out of its group for `rejoinTimeoutMs`: its disconnect gets a few
   * seconds (a stuck one may never finish it), then a new consumer joins. Offsets stay safe: the old one's
   * uncommitted work is redelivered, and a commit it still attempts belongs to a dead generation.
   */
  async function replaceConsumer(outOfGroupMs: number): Promise<void> {
    const stuck = consumer;
    logger.error({ outOfGroupMs, rejoinTimeoutMs }, 'Consumer out of its group too long; replacing it');
    consumer = undefined;
    setJoined(false);
    await Promise.race([
      stuck?.disconnect().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, REPLACED_DISCONNECT_MS).unref()),
    ]);
    if (stopping) return;
    await api.start().catch((error: unknown) => {
      logger.warn({ err: error }, 'Replacement consumer did not start; the watchdog tries again');
    });
  }

  function watchMembership(): void {
    if (watchdog) return;
    watchdog = setInterval(() => {
      if (stopping || replacing) return;
      if (consumer && joined()) {
        outOfGroupSince = undefined;
        return;
      }
      outOfGroupSince ??= Date.now();
      const outOfGroupMs = Date.now() - outOfGroupSince;
      if (outOfGroupMs < rejoinTimeoutMs) return;
      replacing = true;
      void replaceConsumer(outOfGroupMs).finally(() => {
        replacing = false;
        outOfGroupSince = undefined;
      });
    }, WATCHDOG_INTERVAL_MS);
    watchdog.unref();
  }

  const api: EventConsumer = {
    joined,
    leftWorkUncommitted: () => workLeft,
    async start() {
      if (consumer) return;
      const created = kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: sessionTimeoutMs,
        rebalanceTimeout: 60_000,
        heartbeatInterval: 3000,
        // How long the broker holds a fetch that finds no record: a record that arrives ends the wait at
        // once (minBytes 1), so this bounds only the idle loop — ten fetches a second cost an idle replica
        // about 1.5 % of a core, one a second a tenth of that.
        maxWaitTimeInMs: 1000,
        ...(options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
        retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
      });
      consumer = created;
      // Events of a consumer the watchdog has replaced say nothing about the current one.
      const current = () => consumer === created;
      created.on(created.events.GROUP_JOIN, ({ payload }) => {
        if (!current()) return;
        logger.info(
          { groupId: payload.groupId, memberId: payload.memberId, assignment: payload.memberAssignment },
          'Consumer joined group',
        );
        setJoined(true);
      });
      created.on(created.events.HEARTBEAT, () => {
        if (current()) lastContactAt = Date.now();
      });
      created.on(created.events.REBALANCING, () => {
        if (!current()) return;
        logger.info({}, 'Consumer group rebalancing');
        setJoined(false);
      });
      created.on(created.events.STOP, () => current() && setJoined(false));
      created.on(created.events.DISCONNECT, () => current() && setJoined(false));
      created.on(created.events.CRASH, ({ payload }) => {
        if (!current()) return;
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
            headers: message.headers,
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
      if (stopping) {
        // Stop was called while the watchdog was replacing the consumer: the new one leaves at once.
        await created.disconnect();
        return;
      }
      logger.info({ groupId: options.groupId, topics: options.topics }, 'Consumer started');
      watchMembership();
    },
    async stop(stopOptions = {}) {
      if (watchdog) clearInterval(watchdog);
      if (!consumer && !replacing) return;
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
  return api;
}
