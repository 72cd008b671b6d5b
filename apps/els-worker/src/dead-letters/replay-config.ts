import { parseConfig, type RuntimeIdentity, type WorkerConfig } from '../config';

/** What `replay-dead-letters` uses of the worker's configuration: Kafka and logging, nothing else. */
export interface ReplayConfig {
  readonly kafkaBrokers: readonly string[];
  readonly topicPrefix: string;
  readonly logLevel: WorkerConfig['logLevel'];
  readonly logPretty: boolean;
  readonly instanceId: string;
}

/**
 * Placeholders for the two keys the worker requires but this command never opens. They are used only when
 * the key is absent, so a present but malformed URL is still reported.
 */
const UNUSED_URLS = {
  ELS_DATABASE_URL: 'postgres://unused.invalid/unused',
  ELS_REDIS_URL: 'redis://unused.invalid',
} as const;

/**
 * Parses the environment with the worker's own schema (`parseConfig`), so the command runs with the same
 * environment file as `migrate` and `start` and every key is checked as strictly (a misspelt
 * `ELS_TOPIC_PREFIX` must stop it rather than replay into another deployment's topics), but without
 * requiring `ELS_DATABASE_URL` or `ELS_REDIS_URL`: replaying touches neither. The log level defaults to
 * `warn` here instead of `info`, because the operator reads the command's own progress lines, not kafkajs'
 * connection chatter. Throws the worker's ConfigError naming every bad key.
 */
export function parseReplayConfig(
  env: Readonly<Record<string, string | undefined>>,
  runtime?: RuntimeIdentity,
): ReplayConfig {
  const filled: Record<string, string | undefined> = { ...env };
  for (const [key, placeholder] of Object.entries(UNUSED_URLS)) {
    if (filled[key] === undefined) filled[key] = placeholder;
  }
  if (filled['ELS_LOG_LEVEL'] === undefined) filled['ELS_LOG_LEVEL'] = 'warn';
  const config = parseConfig(filled, runtime);
  return Object.freeze({
    kafkaBrokers: config.kafkaBrokers,
    topicPrefix: config.topicPrefix,
    logLevel: config.logLevel,
    logPretty: config.logPretty,
    instanceId: config.instanceId,
  });
}
