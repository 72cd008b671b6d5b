import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  DEFAULT_PRODUCE_OPTIONS,
  DEFAULT_RECONNECT_RATE,
  type ProduceOptions,
  type WorkloadOptionsInput,
} from '@els/workload';

export type CliCommand =
  | { command: 'help' }
  | {
      command: 'produce';
      brokers: string[];
      clientId: string;
      workload: WorkloadOptionsInput;
      produce: ProduceOptions;
      outDir: string;
      createTopics: boolean;
      idempotent: boolean;
      quiet: boolean;
    }
  | { command: 'topics'; brokers: string[]; clientId: string; topicPrefix: string; partitions: number }
  | {
      command: 'http';
      url: string;
      durationS: number;
      connections: number;
      pipelining: number;
      reconnectRate: number;
      ids: string[];
      sentLog: string | undefined;
      json: boolean;
    };

/** A command line that cannot be run; the CLI prints the message and exits with status 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

const number = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a non-negative number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  )
  .pipe(z.array(z.string()).min(1, 'must name at least one entry'));

const common = {
  brokers: list.default(['127.0.0.1:9092']),
  'client-id': z.string().min(1).default('event-generator'),
  'topic-prefix': z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, "may only contain letters, digits, '.', '_' and '-'")
    .default(''),
  partitions: integer(1, 10_000).default(12),
};

const produceSchema = z.strictObject({
  ...common,
  batches: integer(1).default(1),
  slots: integer(1, 100_000).default(20),
  texts: integer(0).optional(),
  'duplicate-ratio': number(0, 1).default(0),
  'duplicate-concurrency': integer(2, 1000).default(2),
  'duplicate-mode': z.enum(['same', 'fresh']).default('same'),
  'excess-ratio': number(0, 10).default(0),
  'before-registration': number(0, 1).default(0),
  'without-registration': number(0, 1).default(0),
  'registration-redeliveries': integer(0, 100).default(0),
  'validation-failures': integer(0).default(0),
  malformed: integer(0).default(0),
  rate: number(0).default(0),
  duration: number(0).default(0),
  waves: integer(1).default(1),
  seed: integer(0, 0xffffffff).default(1),
  'run-id': z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)')
    .optional(),
  'chunk-size': integer(1, 100_000).default(DEFAULT_PRODUCE_OPTIONS.chunkSize),
  'progress-interval': number(0.1).default(2),
  out: z.string().min(1).default('dist/generator/latest'),
  'skip-topic-creation': z.boolean().default(false),
  'plain-producer': z.boolean().default(false),
  quiet: z.boolean().default(false),
});

const topicsSchema = z.strictObject(common);

const httpSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  duration: number(0.1).default(10),
  connections: integer(1, 10_000).default(20),
  pipelining: integer(1, 100).default(1),
  'reconnect-rate': integer(0, 1_000_000).default(DEFAULT_RECONNECT_RATE),
  ids: list.optional(),
  'sent-log': z.string().min(1).optional(),
  json: z.boolean().default(false),
});

const BOOLEAN_FLAGS = new Set(['skip-topic-creation', 'plain-producer', 'quiet', 'json', 'help']);
const FLAG_NAMES: Record<'produce' | 'topics' | 'http', readonly string[]> = {
  produce: Object.keys(produceSchema.shape),
  topics: Object.keys(topicsSchema.shape),
  http: Object.keys(httpSchema.shape),
};

function parseFlags<T extends z.ZodType>(
  command: keyof typeof FLAG_NAMES,
  args: string[],
  schema: T,
): z.output<T> {
  const options = Object.fromEntries(
    [...FLAG_NAMES[command], 'help'].map((name) => [
      name,
      { type: BOOLEAN_FLAGS.has(name) ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliUsageError(`${command}: ${(error as Error).message}`);
  }
  const { help: _help, ...flags } = values;
  const parsed = schema.safeParse(flags);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${issue.path.join('.')}: ${issue.message}`);
    throw new CliUsageError(`${command}: invalid flags\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** Turns the arguments after `node main.js` into a command, or throws a CliUsageError naming the flag. */
export function parseCommandLine(argv: readonly string[]): CliCommand {
  const [command, ...args] = argv;
  if (
    command === undefined ||
    command === 'help' ||
    command === '--help' ||
    command === '-h' ||
    args.includes('--help')
  ) {
    return { command: 'help' };
  }
  if (command === 'produce') {
    const f = parseFlags('produce', args, produceSchema);
    return {
      command: 'produce',
      brokers: f.brokers,
      clientId: f['client-id'],
      outDir: f.out,
      createTopics: !f['skip-topic-creation'],
      idempotent: !f['plain-producer'],
      quiet: f.quiet,
      workload: {
        batches: f.batches,
        slots: f.slots,
        ...(f.texts === undefined ? {} : { texts: f.texts }),
        duplicateRatio: f['duplicate-ratio'],
        duplicateConcurrency: f['duplicate-concurrency'],
        duplicateMode: f['duplicate-mode'],
        excessRatio: f['excess-ratio'],
        beforeRegistration: f['before-registration'],
        withoutRegistration: f['without-registration'],
        registrationRedeliveries: f['registration-redeliveries'],
        validationFailures: f['validation-failures'],
        malformed: f.malformed,
        partitions: f.partitions,
        seed: f.seed,
        ...(f['run-id'] === undefined ? {} : { runId: f['run-id'] }),
      },
      produce: {
        ...DEFAULT_PRODUCE_OPTIONS,
        topicPrefix: f['topic-prefix'],
        ratePerSec: f.rate,
        durationMs: Math.round(f.duration * 1000),
        waves: f.waves,
        chunkSize: f['chunk-size'],
        progressIntervalMs: Math.round(f['progress-interval'] * 1000),
      },
    };
  }
  if (command === 'topics') {
    const f = parseFlags('topics', args, topicsSchema);
    return {
      command: 'topics',
      brokers: f.brokers,
      clientId: f['client-id'],
      topicPrefix: f['topic-prefix'],
      partitions: f.partitions,
    };
  }
  if (command === 'http') {
    const f = parseFlags('http', args, httpSchema);
    return {
      command: 'http',
      url: f.url,
      durationS: f.duration,
      connections: f.connections,
      pipelining: f.pipelining,
      reconnectRate: f['reconnect-rate'],
      ids: f.ids ?? [],
      sentLog: f['sent-log'],
      json: f.json,
    };
  }
  throw new CliUsageError(`unknown command "${command}" (expected produce, topics, http or help)`);
}
