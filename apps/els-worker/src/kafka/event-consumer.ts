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
}

export interface EventConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while this member belongs to the group (readiness). */
  joined(): boolean;
}

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

  function setJoined(value: boolean) {
    if (isJoined === value) return;
    isJoined = value;
    options.onMembership?.(value);
  }

  return {
    joined: () => isJoined,
    async start() {
      if (consumer) return;
      const created = kafka.consumer({
        groupId: options.groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: 30_000,
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
      created.on(created.events.REBALANCING, () => logger.info({}, 'Consumer group rebalancing'));
      created.on(created.events.STOP, () => setJoined(false));
      created.on(created.events.DISCONNECT, () => setJoined(false));
      created.on(created.events.CRASH, ({ payload }) => {
        setJoined(false);
        logger.error({ err: payload.error, restart: payload.restart }, 'Consumer crashed');
        if (!payload.restart) options.onFatal?.(payload.error);
      });
      await created.connect();
      await created.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning ?? true });
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
          await options.handleBatch(messages, {
            resolveOffset(offset) {
              resolveOffset(offset);
              lastResolved = BigInt(offset);
            },
            heartbeat,
            isActive: () => isRunning() && !isStale(),
          });
          await commitOffsetsIfNecessary();
          if (lastResolved !== undefined) {
            const lag = BigInt(batch.highWatermark) - (lastResolved + 1n);
            options.onLag?.(batch.topic, batch.partition, Number(lag > 0n ? lag : 0n));
          }
        },
      });
      logger.info({ groupId: options.groupId, topics: options.topics }, 'Consumer started');
    },
    async stop() {
      if (!consumer) return;
      stopping ??= (async () => {
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
