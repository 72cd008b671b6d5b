import { INPUT_TOPICS, topicName } from '@els/contracts';
import { createOutboxRelay } from '@els/coordination';
import type { WorkerConfig } from './config';
import { createBatchProcessor } from './consumer/batch-processor';
import { coalesceContentBatches } from './consumer/content-coalescer';
import { retryWhileActive } from './consumer/retry-loop';
import { createCoordinationPort, type Sql } from './coordination-port';
import { buildHttpServer, createHttpServer } from './http/http-server';
import type { KafkaTransport } from './kafka/kafka-transport';
import { componentLogger, type Logger } from './logger';
import { createMetrics, type WorkerMetrics } from './metrics';
import { createEventFilter } from './redis/event-filter';

export interface WorkerDeps {
  sql: Sql;
  kafka: KafkaTransport;
  logger: Logger;
  clock?: () => Date;
  /** Called when a part fails beyond recovery (the consumer crashed for good); main shuts down. */
  onFatal?: (error: Error) => void;
}

export interface Worker {
  /** Waits for the database and a current schema, then starts every part in dependency order. */
  start(): Promise<void>;
  /** Stops fetching, finishes and commits in-flight work, flushes the relay, closes what it opened. */
  stop(): Promise<void>;
  httpPort(): number | undefined;
  readonly metrics: WorkerMetrics;
}

/** Builds the worker from its configuration and already-created connections; nothing starts yet. */
export function buildWorker(config: WorkerConfig, deps: WorkerDeps): Worker {
  const log = (name: Parameters<typeof componentLogger>[1]) => componentLogger(deps.logger, name);
  const mainLog = log('main');
  const consumerLog = log('consumer');
  const metrics = createMetrics();
  const coordination = createCoordinationPort(deps.sql, { clock: deps.clock, logger: consumerLog });

  const eventFilter = createEventFilter({
    url: config.redisUrl,
    namespace: `${config.consumerGroup}/${config.topicPrefix}`,
    ttlS: config.redisDedupTtlS,
    logger: log('redis'),
    onDegradedChange: metrics.observeRedisDegraded,
    onLookup: metrics.observeRedisLookup,
  });
  const producer = deps.kafka.createProducer(config.topicPrefix, log('kafka'));
  const relay = createOutboxRelay({
    sql: deps.sql,
    publisher: (messages) => producer.publish(messages),
    batchSize: config.relayBatchSize,
    pollIntervalMs: config.relayPollIntervalMs,
    maxBackoffMs: config.relayMaxBackoffMs,
    logger: log('relay'),
    onEvent: metrics.observeRelay,
    clock: deps.clock,
  });
  const consumer = deps.kafka.createConsumer({
    groupId: config.consumerGroup,
    topics: INPUT_TOPICS.map((base) => topicName(base, config.topicPrefix)),
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    logger: consumerLog,
    onLag: metrics.observeConsumerLag,
    onMembership: metrics.observeGroupMembership,
    onFatal: deps.onFatal,
    handleBatch: createBatchProcessor({
      handlers: {
        ...coordination,
        // One shared transaction for the content runs of all partitions in flight (group commit).
        handleContentBatch: coalesceContentBatches(coordination.handleContentBatch, {
          maxEvents: config.consumerMaxBatchSize,
          isRetriable: (error) => coordination.classifyError(error).retriable,
          onCall: metrics.observeContentTransaction,
        }),
      },
      classifyError: coordination.classifyError,
      eventFilter,
      publishDeadLetters: (letters) => producer.publishDeadLetters(letters),
      maxMessageBytes: config.maxMessageBytes,
      maxContentBatch: config.consumerMaxBatchSize,
      retryMaxBackoffMs: config.retryMaxBackoffMs,
      logger: consumerLog,
      onEvent: metrics.observeProcessor,
    }),
  });
  const httpLog = log('http');
  const http = createHttpServer(
    buildHttpServer({
      instanceId: config.instanceId,
      queries: coordination,
      readiness: {
        instanceId: config.instanceId,
        database: coordination,
        consumerJoined: consumer.joined,
        redisDegraded: eventFilter.degraded,
      },
      renderMetrics: metrics.render,
      logger: httpLog,
    }),
    config.httpHost,
    config.httpPort,
    httpLog,
  );

  let stopRequested = false;
  let relayStarted = false;
  let stopping: Promise<void> | undefined;

  /** The consumer must not touch tables that do not exist yet: wait for `migrate` to have run. */
  async function waitForSchema(): Promise<boolean> {
    const outcome = await retryWhileActive(
      async () => {
        const status = await coordination.schemaStatus();
        if (!status.current)
          throw Object.assign(new Error('schema not current; run `main.js migrate`'), { status });
      },
      (error) => ({
        code: 'ELS_ERR_SCHEMA_NOT_READY',
        retriable: true,
        message: (error as Error).message,
        cause: error,
      }),
      {
        maxBackoffMs: 5000,
        isActive: () => !stopRequested,
        heartbeat: async () => undefined,
        onRetry: (failure, attempt, delayMs) =>
          mainLog.warn({ reason: failure.message, attempt, delayMs }, 'Waiting for the database'),
      },
    );
    return outcome.done;
  }

  const steps: Array<[string, () => Promise<void>]> = [
    ['redis filter', () => eventFilter.start()],
    ['producer', () => producer.start()],
    [
      'relay',
      async () => {
        await relay.start();
        relayStarted = true;
      },
    ],
    ['consumer', () => consumer.start()],
    ['http', () => http.start()],
  ];

  return {
    metrics,
    httpPort: http.port,
    async start() {
      mainLog.info({}, 'Worker starting');
      if (!(await waitForSchema())) return;
      for (const [name, start] of steps) {
        if (stopRequested) return;
        mainLog.debug({ part: name }, 'Starting part');
        await start();
      }
      mainLog.info({ httpPort: http.port() }, 'Worker started');
    },
    async stop() {
      stopRequested = true;
      stopping ??= (async () => {
        mainLog.info({}, 'Worker stopping');
        const attempt = async (name: string, work: () => Promise<void>) => {
          try {
            await work();
          } catch (error) {
            mainLog.error({ part: name, err: error }, 'Part failed to stop cleanly');
          }
        };
        await attempt('consumer', consumer.stop);
        // Publish what the last batches wrote, so the next owner of the partitions does not wait on a poll.
        if (relayStarted) await attempt('relay flush', relay.flush);
        await attempt('relay', relay.stop);
        await attempt('producer', producer.stop);
        await attempt('http', http.stop);
        await attempt('redis filter', eventFilter.stop);
        mainLog.info({}, 'Worker stopped');
      })();
      await stopping;
    },
  };
}
