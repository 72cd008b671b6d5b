import { createDatabase, migrate, type Sql } from '@els/coordination';
import pino from 'pino';
import { ConfigError, parseConfig, redactConfig, type WorkerConfig } from './config';
import { DeadLetterReplayError, replayDeadLetters } from './dead-letters/dead-letter-replay';
import { cursorGroupId, deadLetterTopic, resolveReplayFilters } from './dead-letters/dead-letter-selection';
import { parseReplayArguments, REPLAY_USAGE } from './dead-letters/replay-args';
import { parseReplayConfig, type ReplayConfig } from './dead-letters/replay-config';
import { formatLetterLine, formatProgressLine, formatSummaryLine } from './dead-letters/replay-report';
import { createKafkaClient } from './kafka/kafka-client';
import { createKafkaTransport } from './kafka/kafka-transport';
import { componentLogger, createRootLogger } from './logger';
import { buildWorker } from './worker';

/**
 * The only impure module: reads the environment, opens connections, wires signals.
 *   main.js migrate                          apply the schema and create the Kafka topics (idempotent, safe concurrently)
 *   main.js [start]                          run the worker until SIGTERM / SIGINT
 *   main.js replay-dead-letters [options]    produce dead letters back to their source topics (--help)
 */

const COMMANDS = ['start', 'migrate', 'replay-dead-letters'] as const;

// Exit codes (docs/guides/operate.md).
/** Every part stopped and all fetched work was committed. */
const EXIT_OK = 0;
/** Fatal failure (the consumer crashed for good, start failed, a migration failed). */
const EXIT_FAILURE = 1;
/** Bad configuration, unknown command, or a bad argument of replay-dead-letters. */
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

/** Writes to a stream and waits until it is flushed, so process.exit cannot cut a piped line short. */
function writeFully(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/**
 * `replay-dead-letters`: arguments and configuration first (exit 2 naming the bad one, before any
 * connection), then the replay. Progress and logs go to stderr, so stdout holds only the listed letters
 * and the final JSON summary line.
 */
async function runReplayDeadLetters(argv: readonly string[]): Promise<number> {
  const parsed = parseReplayArguments(argv);
  if (parsed.kind === 'help') {
    await writeFully(process.stdout, `${REPLAY_USAGE}\n`);
    return EXIT_OK;
  }
  if (parsed.kind === 'error') {
    await writeFully(
      process.stderr,
      `replay-dead-letters: bad argument ${parsed.argument}: ${parsed.message}\n`,
    );
    return EXIT_BAD_CONFIG;
  }
  let config: ReplayConfig;
  try {
    config = parseReplayConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.issues.map((issue) => `  ${issue.key} ${issue.reason}\n`).join('');
    await writeFully(process.stderr, `${error.code}: invalid configuration\n${lines}`);
    return EXIT_BAD_CONFIG;
  }
  const resolved = resolveReplayFilters(parsed.arguments, config.topicPrefix);
  if (resolved.kind === 'error') {
    await writeFully(
      process.stderr,
      `replay-dead-letters: bad argument ${resolved.argument}: ${resolved.message}\n`,
    );
    return EXIT_BAD_CONFIG;
  }
  const { filters } = resolved;
  const { dryRun, fromBeginning } = parsed.arguments;
  // The worker's loggers write to stdout; this command keeps stdout for its result.
  const root = pino(
    {
      level: config.logLevel,
      base: { instanceId: config.instanceId, command: 'replay-dead-letters' },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(config.logPretty
        ? { transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } }
        : {}),
    },
    config.logPretty ? undefined : pino.destination({ dest: 2, sync: true }),
  );
  const kafka = createKafkaClient({
    brokers: config.kafkaBrokers,
    clientId: `els-replay-${config.instanceId}`,
    logger: componentLogger(root, 'kafka'),
  });
  const context = {
    dryRun,
    fromBeginning,
    deadLetterTopic: deadLetterTopic(config.topicPrefix),
    cursorGroup: cursorGroupId(filters),
    filters,
  };
  try {
    const summary = await replayDeadLetters({
      kafka,
      topicPrefix: config.topicPrefix,
      filters,
      dryRun,
      fromBeginning,
      logger: componentLogger(root, 'main'),
      onProgress: (progress) => process.stderr.write(`${formatProgressLine(progress, dryRun)}\n`),
      onLetter: (listing) => process.stdout.write(`${formatLetterLine(listing, context.deadLetterTopic)}\n`),
    });
    await writeFully(process.stdout, `${formatSummaryLine({ ok: true, summary }, context)}\n`);
    return EXIT_OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await writeFully(process.stderr, `replay-dead-letters: failed: ${message}\n`);
    const outcome =
      error instanceof DeadLetterReplayError
        ? { ok: false as const, reason: error.reason, error: message, progress: error.progress }
        : { ok: false as const, reason: 'unexpected', error: message };
    await writeFully(process.stdout, `${formatSummaryLine(outcome, context)}\n`);
    return EXIT_FAILURE;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const command = argv[0] ?? 'start';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    process.stderr.write(`unknown command "${command}"; use one of ${COMMANDS.join(', ')}\n`);
    process.exit(EXIT_BAD_CONFIG);
  }
  if (command === 'replay-dead-letters') process.exit(await runReplayDeadLetters(argv.slice(1)));
  const config = loadConfig();
  if (command === 'migrate') process.exit(await runMigrate(config));
  await runStart(config);
}

void main(process.argv.slice(2));
