import { INPUT_TOPICS, topicName } from '@els/contracts';
import {
  createCompletionSweeper,
  createOutboxRelay,
  createOutboxSweeper,
  ERROR_CODES,
  failureOf,
} from '@els/coordination';
import type { WorkerConfig } from './config';
import { createBatchProcessor } from './consumer/batch-processor';
import { createDatabaseHealth } from './database-health';
import { coalesceContentBatches } from './consumer/content-coalescer';
import { retryWhileActive } from './consumer/retry-loop';
import { createRetryTracker } from './consumer/retry-tracker';
import { createCoordinationPort, type Sql } from './coordination-port';
import { buildHttpServer, createHttpServer } from './http/http-server';
import { isPermanentBrokerRefusal } from './kafka/broker-refusal';
import type { KafkaTransport } from './kafka/kafka-transport';
import { componentLogger, type Logger } from './logger';
import { createMetrics, type WorkerMetrics } from './metrics';
import { createEventFilter, filterNamespace } from './redis/event-filter';
import { runStopSequence, stopSteps, type StopReport, type WorkerPart } from './stop-sequence';

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
  /**
   * Stops fetching, finishes and commits in-flight work, flushes the relay, closes what it opened; each
   * part within its share of `budgetMs` (default: the shutdown grace period), abandoned past it.
   */
  stop(options?: { budgetMs?: number }): Promise<WorkerStopReport>;
  httpPort(): number | undefined;
  readonly metrics: WorkerMetrics;
}

export interface WorkerStopReport extends StopReport {
  /** Fetched messages were left unresolved: their offsets were not committed and they will be redelivered. */
  workLeftUncommitted: boolean;
}

/**
 * Kafka errors that mean "the broker is not there yet": kafkajs marks most as retriable; giving up its own
 * retries, or losing the connection, is unavailability too.
 */
const BROKER_UNAVAILABLE_ERRORS = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
]);

function isBrokerUnavailability(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { retriable, name } = error as { retriable?: unknown; name?: unknown };
  return retriable === true || (typeof name === 'string' && BROKER_UNAVAILABLE_ERRORS.has(name));
}

/** Builds the worker from its configuration and already-created connections; nothing starts yet. */
export function buildWorker(config: WorkerConfig, deps: WorkerDeps): Worker {
  const log = (name: Parameters<typeof componentLogger>[1]) => componentLogger(deps.logger, name);
  const mainLog = log('main');
  const consumerLog = log('consumer');
  const metrics = createMetrics();
  const coordination = createCoordinationPort(deps.sql, { clock: deps.clock, logger: consumerLog });
  const retrying = createRetryTracker();
  metrics.observeRetrying(retrying.list);
  const databaseHealth = createDatabaseHealth({
    probe: coordination.probeWritable,
    logger: consumerLog,
    onState: metrics.observeDatabaseState,
    onProbe: metrics.observeWriteProbe,
  });

  // Read once the schema is current (waitForSchema); the filter starts only after that.
  let deploymentId: string | undefined;
  const eventFilter = createEventFilter({
    url: config.redisUrl,
    namespace: () => {
      if (deploymentId === undefined) throw new Error('the deployment id was not read before the filter');
      return filterNamespace(deploymentId, config.consumerGroup, config.topicPrefix);
    },
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
    publishTimeoutMs: config.relayPublishTimeoutMs,
    logger: log('relay'),
    onEvent: metrics.observeRelay,
    clock: deps.clock,
  });
  const sweeper = createOutboxSweeper({
    sql: deps.sql,
    retentionMs: config.outboxRetentionMs,
    intervalMs: config.outboxPruneIntervalMs,
    batchSize: config.outboxPruneBatchSize,
    logger: log('sweeper'),
    onEvent: metrics.observeSweeper,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const completionSweeper = createCompletionSweeper({
    sql: deps.sql,
    intervalMs: config.completionSweepIntervalMs,
    batchSize: 100,
    logger: log('completion-sweeper'),
    onCompleted: metrics.observeSweptCompletions,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const consumer = deps.kafka.createConsumer({
    groupId: config.consumerGroup,
    topics: INPUT_TOPICS.map((base) => topicName(base, config.topicPrefix)),
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    maxBytesPerPartition: config.consumerMaxBytesPerPartition,
    sessionTimeoutMs: config.consumerSessionTimeoutMs,
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
          isUnavailability: (error) => coordination.classifyError(error).retry === 'unbounded',
          onCall: metrics.observeContentTransaction,
        }),
      },
      classifyError: coordination.classifyError,
      verifyDatabase: databaseHealth.verify,
      eventFilter,
      publishDeadLetters: (letters) => producer.publishDeadLetters(letters),
      isPermanentBrokerRefusal,
      maxMessageBytes: config.maxMessageBytes,
      maxContentBatch: config.consumerMaxBatchSize,
      retryMaxBackoffMs: config.retryMaxBackoffMs,
      retryUnexpectedMax: config.retryUnexpectedMax,
      logger: consumerLog,
      onEvent: (event) => {
        retrying.observe(event);
        metrics.observeProcessor(event);
      },
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
        retrying: retrying.list,
        maxRetryMs: config.readyMaxRetryMs,
        onDatabaseState: databaseHealth.observe,
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
  let stopping: Promise<WorkerStopReport> | undefined;

  /** The consumer must not touch tables that do not exist yet: wait for `migrate` to have run. */
  async function waitForSchema(): Promise<boolean> {
    const outcome = await retryWhileActive(
      async () => {
        const status = await coordination.schemaStatus();
        if (!status.current)
          throw Object.assign(new Error('schema not current; run `main.js migrate`'), { status });
        deploymentId = await coordination.deploymentId();
      },
      (error) => failureOf(ERROR_CODES.schemaNotReady, error),
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

  /**
   * A broker that is restarting refuses metadata and producer ids for a while (retriable Kafka errors):
   * starting waits that out, as a running worker does, instead of exiting.
   */
  async function startKafkaPart(part: string, start: () => Promise<void>): Promise<void> {
    await retryWhileActive(
      start,
      (error) => {
        const failure = failureOf(ERROR_CODES.brokerUnavailable, error);
        // A Kafka error that is not unavailability fails the start (exit 1), under the same code.
        return isBrokerUnavailability(error) ? failure : { ...failure, retriable: false, retry: 'never' };
      },
      {
        maxBackoffMs: config.retryMaxBackoffMs,
        isActive: () => !stopRequested,
        heartbeat: async () => undefined,
        onRetry: (failure, attempt, delayMs) =>
          mainLog.warn({ part, err: failure.message, attempt, delayMs }, 'Waiting for the Kafka broker'),
      },
    );
  }

  /**
   * The parts in dependency order (CONTRIBUTING.md §4), River's start/stop contract: each starts once the
   * parts before it run, and they stop in reverse, each while what it uses still runs. The two exceptions
   * say why where they are listed. Stop weights are shares of the grace period: leaving the group drains the
   * in-flight batch, the relay flush publishes what it wrote.
   */
  const parts: WorkerPart[] = [
    {
      name: 'redis filter',
      start: () => eventFilter.start(),
      stop: [{ name: 'redis filter', weight: 1, run: () => eventFilter.stop() }],
    },
    {
      name: 'producer',
      start: () => startKafkaPart('producer', () => producer.start()),
      stop: [{ name: 'producer', weight: 1, run: () => producer.stop() }],
    },
    {
      name: 'relay',
      async start() {
        await relay.start();
        relayStarted = true;
      },
      stop: [
        // Publish what the last batches wrote, so the next owner of the partitions does not wait on a poll.
        { name: 'relay flush', weight: 2, run: () => (relayStarted ? relay.flush() : Promise.resolve()) },
        { name: 'relay', weight: 1, run: () => relay.stop() },
      ],
      // Exception: right after the consumer rather than after the sweeper, so the flush of the last batches'
      // events is not held up by a sweeping pass; the sweeper only deletes rows the relay already published.
      stopAfter: 'consumer',
    },
    {
      name: 'outbox sweeper',
      start: () => sweeper.start(),
      stop: [{ name: 'outbox sweeper', weight: 1, run: () => sweeper.stop() }],
    },
    {
      name: 'completion sweeper',
      start: () => completionSweeper.start(),
      stop: [{ name: 'completion sweeper', weight: 1, run: () => completionSweeper.stop() }],
    },
    {
      name: 'consumer',
      start: () => startKafkaPart('consumer', () => consumer.start()),
      stop: [{ name: 'consumer', weight: 4, run: (ms) => consumer.stop({ drainMs: ms / 2 }) }],
    },
    {
      name: 'http',
      start: () => http.start(),
      stop: [{ name: 'http', weight: 1, run: () => http.stop() }],
      // Exception: started last (ready only once everything runs) but stopped after the parts that do the
      // work, so /healthz, /readyz and /metrics answer while the consumer drains and the relay flushes:
      // /readyz answers 503 once the consumer has left its group instead of refusing the connection, and
      // the last counters can still be scraped. Only the Redis filter, which nothing uses by then, stops later.
      stopAfter: 'producer',
    },
  ];

  return {
    metrics,
    httpPort: http.port,
    async start() {
      mainLog.info({}, 'Worker starting');
      if (!(await waitForSchema())) return;
      for (const part of parts) {
        if (stopRequested) return;
        mainLog.debug({ part: part.name }, 'Starting part');
        await part.start();
      }
      mainLog.info({ httpPort: http.port(), deploymentId }, 'Worker started');
    },
    async stop(options = {}) {
      stopRequested = true;
      stopping ??= (async () => {
        mainLog.info({}, 'Worker stopping');
        const report = await runStopSequence(stopSteps(parts), {
          budgetMs: options.budgetMs ?? config.shutdownGraceMs,
          onStep: (outcome, timeoutMs) => {
            if (outcome.status === 'failed')
              mainLog.error({ part: outcome.name, err: outcome.error }, 'Part failed to stop cleanly');
            else if (outcome.status === 'timed-out')
              mainLog.error(
                { part: outcome.name, timeoutMs },
                'Part did not stop within its share of the grace period',
              );
          },
        });
        const workLeftUncommitted = consumer.leftWorkUncommitted();
        mainLog.info({ clean: report.clean, workLeftUncommitted }, 'Worker stopped');
        return { ...report, workLeftUncommitted };
      })();
      return stopping;
    },
  };
}
