import { hostname } from 'node:os';
import { ERROR_CODES } from '@els/coordination';
import { z } from 'zod';

/**
 * Worker configuration: read from `ELS_*` environment variables only, parsed once with a strict schema,
 * every bad key reported in one error, then deep-frozen. Units are part of the names (`…Ms`, `…Bytes`).
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TOPIC_PREFIX_PATTERN = /^[a-zA-Z0-9._-]*$/;
const BROKER_PATTERN = /^[^\s:,]+:\d{1,5}$/;

const integer = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback);

const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'must be one of true, false, 1, 0' })
    .transform((value) => value === 'true' || value === '1')
    .default(fallback);

const urlWithScheme = (schemes: readonly string[]) =>
  z
    .string({ error: 'is required' })
    .refine((value) => URL.canParse(value) && schemes.includes(new URL(value).protocol), {
      error: `must be a URL starting with ${schemes.map((s) => `${s}//`).join(' or ')}`,
    });

const brokerList = z
  .string({ error: 'is required' })
  .transform((value) =>
    value
      .split(',')
      .map((broker) => broker.trim())
      .filter((broker) => broker.length > 0),
  )
  .refine((brokers) => brokers.length > 0, { error: 'must name at least one broker' })
  .refine((brokers) => brokers.every((broker) => BROKER_PATTERN.test(broker)), {
    error: 'must be a comma-separated list of host:port',
  });

/** Every key the worker reads, with its schema. Defaults live here and in docs/reference/configuration.md. */
const configShape = {
  ELS_DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']),
  ELS_REDIS_URL: urlWithScheme(['redis:', 'rediss:']),
  ELS_KAFKA_BROKERS: brokerList,
  ELS_HTTP_PORT: integer(0, 65_535, 6000),
  ELS_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  ELS_INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, { error: 'must be 1-128 characters of letters, digits, . _ : -' })
    .optional(),
  ELS_CONSUMER_GROUP: z.string().min(1).max(255).default('essay-lifecycle-service-group-v1.0'),
  ELS_TOPIC_PREFIX: z
    .string()
    .regex(TOPIC_PREFIX_PATTERN, { error: "may only contain letters, digits, '.', '_' and '-'" })
    .max(100)
    .default(''),
  ELS_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ELS_LOG_PRETTY: booleanFlag(false),
  ELS_DB_POOL_MAX: integer(1, 100, 5),
  ELS_SHUTDOWN_GRACE_MS: integer(1000, 600_000, 15_000),
  ELS_RELAY_BATCH_SIZE: integer(1, 10_000, 200),
  ELS_RELAY_POLL_INTERVAL_MS: integer(10, 600_000, 1000),
  ELS_RELAY_MAX_BACKOFF_MS: integer(10, 600_000, 30_000),
  ELS_MAX_MESSAGE_BYTES: integer(1024, 100 * 1_048_576, 1_048_576),
  ELS_REDIS_DEDUP_TTL_S: integer(1, 30 * 86_400, 86_400),
  ELS_INPUT_TOPIC_PARTITIONS: integer(12, 10_000, 12),
  ELS_RETRY_MAX_BACKOFF_MS: integer(10, 600_000, 5000),
  ELS_PARTITIONS_CONSUMED_CONCURRENTLY: integer(1, 100, 12),
  ELS_CONSUMER_MAX_BATCH_SIZE: integer(1, 10_000, 500),
  ELS_CONSUMER_MAX_BYTES_PER_PARTITION: integer(1024, 100 * 1_048_576, 1_048_576),
  // The broker's group.min.session.timeout.ms and a sane ceiling (its max defaults to 30 min).
  ELS_CONSUMER_SESSION_TIMEOUT_MS: integer(6000, 300_000, 30_000),
  ELS_RETRY_UNEXPECTED_MAX: integer(1, 1000, 5),
  ELS_READY_MAX_RETRY_MS: integer(0, 86_400_000, 60_000),
  ELS_DB_STATEMENT_TIMEOUT_MS: integer(100, 600_000, 10_000),
  ELS_DB_LOCK_TIMEOUT_MS: integer(100, 600_000, 3000),
  ELS_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: integer(100, 600_000, 5000),
  ELS_RELAY_PUBLISH_TIMEOUT_MS: integer(100, 600_000, 5000),
  ELS_OUTBOX_RETENTION_MS: integer(0, 365 * 86_400_000, 3_600_000),
  ELS_OUTBOX_PRUNE_INTERVAL_MS: integer(100, 86_400_000, 60_000),
  ELS_OUTBOX_PRUNE_BATCH_SIZE: integer(1, 100_000, 1000),
  ELS_COMPLETION_SWEEP_INTERVAL_MS: integer(100, 3_600_000, 5000),
} as const;

export type ConfigKey = keyof typeof configShape;

/** The names of every accepted environment variable (Compose files and docs are checked against it). */
export const CONFIG_KEYS: readonly ConfigKey[] = Object.freeze(Object.keys(configShape) as ConfigKey[]);

const envSchema = z.object(configShape);

export interface WorkerConfig {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly kafkaBrokers: readonly string[];
  readonly httpPort: number;
  readonly httpHost: string;
  readonly instanceId: string;
  readonly consumerGroup: string;
  readonly topicPrefix: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logPretty: boolean;
  readonly dbPoolMax: number;
  readonly shutdownGraceMs: number;
  readonly relayBatchSize: number;
  readonly relayPollIntervalMs: number;
  readonly relayMaxBackoffMs: number;
  readonly maxMessageBytes: number;
  readonly redisDedupTtlS: number;
  readonly inputTopicPartitions: number;
  readonly retryMaxBackoffMs: number;
  readonly partitionsConsumedConcurrently: number;
  readonly consumerMaxBatchSize: number;
  readonly consumerMaxBytesPerPartition: number;
  readonly consumerSessionTimeoutMs: number;
  readonly retryUnexpectedMax: number;
  readonly readyMaxRetryMs: number;
  readonly dbStatementTimeoutMs: number;
  readonly dbLockTimeoutMs: number;
  readonly dbIdleInTransactionTimeoutMs: number;
  readonly relayPublishTimeoutMs: number;
  readonly outboxRetentionMs: number;
  readonly outboxPruneIntervalMs: number;
  readonly outboxPruneBatchSize: number;
  readonly completionSweepIntervalMs: number;
}

export interface ConfigIssue {
  readonly key: string;
  readonly reason: string;
}

/** A configuration that cannot be used; `issues` names every bad key, not only the first. */
export class ConfigError extends Error {
  readonly code = ERROR_CODES.configInvalid;
  readonly retriable = false;
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid configuration: ${issues.map((issue) => `${issue.key} ${issue.reason}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface RuntimeIdentity {
  hostname: string;
  pid: number;
}

/** Parses the `ELS_*` subset of an environment. Throws ConfigError naming every bad or unknown key. */
export function parseConfig(
  env: Readonly<Record<string, string | undefined>>,
  runtime: RuntimeIdentity = { hostname: hostname(), pid: process.pid },
): WorkerConfig {
  const known = new Set<string>(CONFIG_KEYS);
  const issues: ConfigIssue[] = [];
  const input: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('ELS_')) continue;
    if (!known.has(key)) {
      issues.push({ key, reason: 'is not a known setting (see docs/reference/configuration.md)' });
      continue;
    }
    if (value === undefined) continue;
    // An empty or blank value is a mistake (an unset shell variable in `KEY=$VAR`), never a silent 0 or
    // default. Only the topic prefix may be empty: the empty prefix is its default and means "none".
    if (value.trim() === '' && !(key === 'ELS_TOPIC_PREFIX' && value === '')) {
      issues.push({ key, reason: 'is empty; remove it to use the default' });
      continue;
    }
    input[key] = value;
  }
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '(environment)');
      if (issues.some((known) => known.key === key)) continue;
      const reason =
        input[key] === undefined && issue.code === 'invalid_type' ? 'is required' : issue.message;
      issues.push({ key, reason });
    }
  }
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(issues.sort((a, b) => a.key.localeCompare(b.key)));
  }
  const env_ = parsed.data;
  return deepFreeze({
    databaseUrl: env_.ELS_DATABASE_URL,
    redisUrl: env_.ELS_REDIS_URL,
    kafkaBrokers: env_.ELS_KAFKA_BROKERS,
    httpPort: env_.ELS_HTTP_PORT,
    httpHost: env_.ELS_HTTP_HOST,
    instanceId: env_.ELS_INSTANCE_ID ?? `${runtime.hostname}-${runtime.pid}`,
    consumerGroup: env_.ELS_CONSUMER_GROUP,
    topicPrefix: env_.ELS_TOPIC_PREFIX,
    logLevel: env_.ELS_LOG_LEVEL,
    logPretty: env_.ELS_LOG_PRETTY,
    dbPoolMax: env_.ELS_DB_POOL_MAX,
    shutdownGraceMs: env_.ELS_SHUTDOWN_GRACE_MS,
    relayBatchSize: env_.ELS_RELAY_BATCH_SIZE,
    relayPollIntervalMs: env_.ELS_RELAY_POLL_INTERVAL_MS,
    relayMaxBackoffMs: env_.ELS_RELAY_MAX_BACKOFF_MS,
    maxMessageBytes: env_.ELS_MAX_MESSAGE_BYTES,
    redisDedupTtlS: env_.ELS_REDIS_DEDUP_TTL_S,
    inputTopicPartitions: env_.ELS_INPUT_TOPIC_PARTITIONS,
    retryMaxBackoffMs: env_.ELS_RETRY_MAX_BACKOFF_MS,
    partitionsConsumedConcurrently: env_.ELS_PARTITIONS_CONSUMED_CONCURRENTLY,
    consumerMaxBatchSize: env_.ELS_CONSUMER_MAX_BATCH_SIZE,
    consumerMaxBytesPerPartition: env_.ELS_CONSUMER_MAX_BYTES_PER_PARTITION,
    consumerSessionTimeoutMs: env_.ELS_CONSUMER_SESSION_TIMEOUT_MS,
    retryUnexpectedMax: env_.ELS_RETRY_UNEXPECTED_MAX,
    readyMaxRetryMs: env_.ELS_READY_MAX_RETRY_MS,
    dbStatementTimeoutMs: env_.ELS_DB_STATEMENT_TIMEOUT_MS,
    dbLockTimeoutMs: env_.ELS_DB_LOCK_TIMEOUT_MS,
    dbIdleInTransactionTimeoutMs: env_.ELS_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    relayPublishTimeoutMs: env_.ELS_RELAY_PUBLISH_TIMEOUT_MS,
    outboxRetentionMs: env_.ELS_OUTBOX_RETENTION_MS,
    outboxPruneIntervalMs: env_.ELS_OUTBOX_PRUNE_INTERVAL_MS,
    outboxPruneBatchSize: env_.ELS_OUTBOX_PRUNE_BATCH_SIZE,
    completionSweepIntervalMs: env_.ELS_COMPLETION_SWEEP_INTERVAL_MS,
  });
}

/** Replaces the password of a URL with `***`, for logs. Non-URLs are returned unchanged. */
export function redactUrl(value: string): string {
  if (!URL.canParse(value)) return value;
  const url = new URL(value);
  if (url.password === '') return value;
  url.password = '***';
  return url.toString();
}

/** The configuration as it may be logged: every URL with its password replaced. */
export function redactConfig(config: WorkerConfig): WorkerConfig {
  return { ...config, databaseUrl: redactUrl(config.databaseUrl), redisUrl: redactUrl(config.redisUrl) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
