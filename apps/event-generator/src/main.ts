import {
  createGeneratorKafka,
  createGeneratorProducer,
  ensureInputTopics,
  formatHttpLoad,
  openRunOutput,
  produceWorkload,
  readSentLog,
  resolveWorkloadOptions,
  runHttpLoad,
  waitForPartitionLeaders,
} from '@els/workload';
import { CliUsageError, parseCommandLine, type CliCommand } from './cli-args';
import { USAGE } from './cli-usage';
import { formatProgress } from './progress-line';
import { INPUT_TOPICS, TOPICS, topicName } from '@els/contracts';

type ProduceCommand = Extract<CliCommand, { command: 'produce' }>;

async function produce(command: ProduceCommand): Promise<void> {
  const kafka = createGeneratorKafka({ brokers: command.brokers, clientId: command.clientId });
  const admin = kafka.admin();
  const producer = createGeneratorProducer(kafka, { idempotent: command.idempotent });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await admin.connect();
    const prefix = command.produce.topicPrefix;
    const partitionCounts = command.createTopics
      ? (await ensureInputTopics(admin, prefix, command.workload.partitions ?? 12)).partitionCounts
      : await waitForPartitionLeaders(
          admin,
          INPUT_TOPICS.map((base) => topicName(base, prefix)),
        );
    const contentPartitions = partitionCounts[topicName(TOPICS.essayContentProvisioned, prefix)];
    const workload = resolveWorkloadOptions({
      ...command.workload,
      ...(contentPartitions ? { partitions: contentPartitions } : {}),
      baseTimeMs: Date.now(),
    });
    await producer.connect();
    const output = await openRunOutput(command.outDir);
    const result = await produceWorkload(workload, command.produce, {
      producer,
      partitionCounts,
      sentLog: output.sentLog,
      signal: abort.signal,
      onProgress: command.quiet
        ? undefined
        : (progress) => process.stderr.write(formatProgress(progress) + '\n'),
    });
    await output.finish(result);
    process.stdout.write(JSON.stringify({ ...result.summary, out: output.dir }, null, 2) + '\n');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function run(argv: string[]): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`event-generator: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  switch (command.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'produce':
      await produce(command);
      return 0;
    case 'topics': {
      const kafka = createGeneratorKafka({ brokers: command.brokers, clientId: command.clientId });
      const admin = kafka.admin();
      try {
        await admin.connect();
        const result = await ensureInputTopics(admin, command.topicPrefix, command.partitions);
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      return 0;
    }
    case 'http': {
      const fromLog = command.sentLog ? (await readSentLog(command.sentLog)).map((line) => line.batchId) : [];
      const ids = [...new Set([...command.ids, ...fromLog])];
      if (command.url.includes('{id}') && ids.length === 0) {
        process.stderr.write('event-generator: http: --url contains {id}; give --ids or --sent-log\n');
        return 2;
      }
      const result = await runHttpLoad({ ...command, ids });
      process.stdout.write((command.json ? JSON.stringify(result, null, 2) : formatHttpLoad(result)) + '\n');
      return 0;
    }
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `event-generator: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
