import { createDatabase, migrate } from '@els/coordination';
import { ConfigError, parseConfig, redactConfig, type WorkerConfig } from './config';
import { createKafkaTransport } from './kafka/kafka-transport';
import { componentLogger, createRootLogger } from './logger';
import { buildWorker } from './worker';

/**
 * The only impure module: reads the environment, opens connections, wires signals.
 *   main.js migrate   apply the schema and create the Kafka topics (idempotent, safe concurrently)
 *   main.js [start]   run the worker until SIGTERM / SIGINT
 */

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_BAD_CONFIG = 2;

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
    const deadline = setTimeout(() => {
      log.error({ graceMs: config.shutdownGraceMs }, 'Shutdown exceeded the grace period, exiting hard');
      process.exit(EXIT_FAILURE);
    }, config.shutdownGraceMs);
    deadline.unref();
    void (async () => {
      let code = exitCode;
      try {
        await worker.stop();
        await sql.end({ timeout: 5 });
      } catch (error) {
        log.error({ err: error }, 'Shutdown failed');
        code = EXIT_FAILURE;
      }
      log.info({ exitCode: code }, 'Exiting');
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
