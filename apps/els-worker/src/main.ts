import { createDatabase, migrate, type Sql } from '@els/coordination';
import { ConfigError, parseConfig, redactConfig, type WorkerConfig } from './config';
import { createKafkaTransport } from './kafka/kafka-transport';
import { componentLogger, createRootLogger } from './logger';
import { buildWorker } from './worker';

/**
 * The only impure module: reads the environment, opens connections, wires signals.
 *   main.js migrate   apply the schema and create the Kafka topics (idempotent, safe concurrently)
 *   main.js [start]   run the worker until SIGTERM / SIGINT
 */

// Exit codes (docs/guides/operate.md).
/** Every part stopped and all fetched work was committed. */
const EXIT_OK = 0;
/** Fatal failure (the consumer crashed for good, start failed, a migration failed). */
const EXIT_FAILURE = 1;
/** Bad configuration or unknown command. */
const EXIT_BAD_CONFIG = 2;
/**
 * Stopped within the grace period, but some fetched messages were left uncommitted (they are redelivered
 * to the next group member) or a part did not stop cleanly within its share (a dependency was unreachable).
 */
const EXIT_STOPPED_INCOMPLETE = 3;

/**
 * `migrate` waits this long for a lock: long enough for a concurrent `migrate` to finish (the advisory lock
 * is a lock wait too), short enough that a DDL lock queued behind a stuck session fails instead of hanging.
 * No statement timeout: a migration may legitimately run long.
 */
const MIGRATE_LOCK_TIMEOUT_MS = 60_000;
/** Share of the grace period for the worker's parts; the rest closes the pool and logs the exit. */
const WORKER_STOP_SHARE = 0.8;

function loadConfig(): WorkerConfig {
  try {
    return parseConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.code}: invalid configuration\n`);
      for (const issue of error.issues) process.stderr.write(`  ${issue.key} ${issue.reason}\n`);
      process.exit(EXIT_BAD_CONFIG);
    }
    throw error;
  }
}

async function runMigrate(config: WorkerConfig): Promise<number> {
  const root = createRootLogger({
    level: config.logLevel,
    pretty: config.logPretty,
    instanceId: config.instanceId,
  });
  const log = componentLogger(root, 'main');
  const sql = createDatabase(config.databaseUrl, {
    max: 1,
    applicationName: `els-migrate-${config.instanceId}`,
    lockTimeoutMs: MIGRATE_LOCK_TIMEOUT_MS,
  });
  try {
    const { applied } = await migrate(sql);
    log.info({ applied }, 'Schema migrated');
    const kafka = createKafkaTransport({
      brokers: config.kafkaBrokers,
      clientId: `els-migrate-${config.instanceId}`,
      logger: componentLogger(root, 'kafka'),
    });
    await kafka.ensureTopics(config.topicPrefix, config.inputTopicPartitions);
    return EXIT_OK;
  } catch (error) {
    log.error({ err: error }, 'Migration failed');
    return EXIT_FAILURE;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Ends the pool within `budgetMs` (queries still running are cancelled); false when it did not end in time. */
async function closePool(sql: Sql, budgetMs: number): Promise<boolean> {
  const ms = Math.max(100, budgetMs);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      sql.end({ timeout: Math.max(0.1, ms / 2000) }).then(
        () => true,
        () => false,
      ),
      expired,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function runStart(config: WorkerConfig): Promise<void> {
  const root = createRootLogger({
    level: config.logLevel,
    pretty: config.logPretty,
    instanceId: config.instanceId,
  });
  const log = componentLogger(root, 'main');
  log.info({ config: redactConfig(config) }, 'Configuration loaded');
  const sql = createDatabase(config.databaseUrl, {
    max: config.dbPoolMax,
    applicationName: `els-worker-${config.instanceId}`,
    // Every wait is bounded, so a paused or partitioned replica cannot hold the others' locks (invariant 11).
    statementTimeoutMs: config.dbStatementTimeoutMs,
    lockTimeoutMs: config.dbLockTimeoutMs,
    idleInTransactionSessionTimeoutMs: config.dbIdleInTransactionTimeoutMs,
  });
  const kafka = createKafkaTransport({
    brokers: config.kafkaBrokers,
    clientId: `els-worker-${config.instanceId}`,
    logger: componentLogger(root, 'kafka'),
  });

  let shuttingDown = false;
  const shutdown = (reason: string, exitCode: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ reason, graceMs: config.shutdownGraceMs }, 'Shutting down');
    const startedAt = Date.now();
    // A backstop only: every step below has its own deadline, so this fires only if one overran it.
    const deadline = setTimeout(() => {
      log.error({ graceMs: config.shutdownGraceMs }, 'Shutdown exceeded the grace period, exiting hard');
      process.exit(exitCode === EXIT_OK ? EXIT_STOPPED_INCOMPLETE : exitCode);
    }, config.shutdownGraceMs);
    deadline.unref();
    void (async () => {
      const report = await worker.stop({ budgetMs: config.shutdownGraceMs * WORKER_STOP_SHARE });
      const poolClosed = await closePool(sql, config.shutdownGraceMs * 0.95 - (Date.now() - startedAt));
      if (!poolClosed) log.error({}, 'Database pool did not close within the grace period');
      const complete = report.clean && !report.workLeftUncommitted && poolClosed;
      const code = exitCode !== EXIT_OK ? exitCode : complete ? EXIT_OK : EXIT_STOPPED_INCOMPLETE;
      log.info(
        { exitCode: code, clean: report.clean, workLeftUncommitted: report.workLeftUncommitted, poolClosed },
        'Exiting',
      );
      process.exit(code);
    })();
  };

  const worker = buildWorker(config, {
    sql,
    kafka,
    logger: root,
    onFatal: (error) => {
      log.error({ err: error }, 'Fatal failure');
      shutdown('fatal failure', EXIT_FAILURE);
    },
  });
  process.on('SIGTERM', () => shutdown('SIGTERM', EXIT_OK));
  process.on('SIGINT', () => shutdown('SIGINT', EXIT_OK));
  process.on('unhandledRejection', (error) => {
    log.error({ err: error }, 'Unhandled rejection');
    shutdown('unhandled rejection', EXIT_FAILURE);
  });
  try {
    await worker.start();
  } catch (error) {
    log.error({ err: error }, 'Worker failed to start');
    shutdown('start failed', EXIT_FAILURE);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] ?? 'start';
  if (command !== 'start' && command !== 'migrate') {
    process.stderr.write(`unknown command "${command}"; use "migrate" or "start"\n`);
    process.exit(EXIT_BAD_CONFIG);
  }
  const config = loadConfig();
  if (command === 'migrate') process.exit(await runMigrate(config));
  await runStart(config);
}

void main(process.argv.slice(2));
