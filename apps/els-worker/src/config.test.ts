import { CONFIG_KEYS, ConfigError, parseConfig, redactConfig } from './config';

const runtime = { hostname: 'worker-host', pid: 4242 };
const required = {
  ELS_DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:5432/els',
  ELS_REDIS_URL: 'redis://127.0.0.1:6379',
  ELS_KAFKA_BROKERS: '127.0.0.1:9092, kafka-2:9092',
};

function configError(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env, runtime);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('applies the documented defaults when only the required keys are set', () => {
    const config = parseConfig(required, runtime);
    expect(config).toEqual({
      databaseUrl: required.ELS_DATABASE_URL,
      redisUrl: required.ELS_REDIS_URL,
      kafkaBrokers: ['127.0.0.1:9092', 'kafka-2:9092'],
      httpPort: 6000,
      httpHost: '0.0.0.0',
      instanceId: 'worker-host-4242',
      consumerGroup: 'essay-lifecycle-service-group-v1.0',
      topicPrefix: '',
      logLevel: 'info',
      logPretty: false,
      dbPoolMax: 5,
      shutdownGraceMs: 15_000,
      relayBatchSize: 200,
      relayPollIntervalMs: 1000,
      relayMaxBackoffMs: 30_000,
      maxMessageBytes: 1_048_576,
      redisDedupTtlS: 86_400,
      inputTopicPartitions: 12,
      retryMaxBackoffMs: 5000,
      partitionsConsumedConcurrently: 12,
      consumerMaxBatchSize: 500,
      consumerMaxBytesPerPartition: 1_048_576,
      consumerSessionTimeoutMs: 30_000,
      retryUnexpectedMax: 5,
      readyMaxRetryMs: 60_000,
      dbStatementTimeoutMs: 10_000,
      dbLockTimeoutMs: 3000,
      dbIdleInTransactionTimeoutMs: 5000,
      relayPublishTimeoutMs: 5000,
      outboxRetentionMs: 3_600_000,
      outboxPruneIntervalMs: 60_000,
      outboxPruneBatchSize: 1000,
      completionSweepIntervalMs: 5000,
    });
  });

  it('reads every overridable key from the environment', () => {
    const config = parseConfig(
      {
        ...required,
        ELS_HTTP_PORT: '7001',
        ELS_INSTANCE_ID: 'replica-3',
        ELS_TOPIC_PREFIX: 'test-1.',
        ELS_LOG_PRETTY: 'true',
        ELS_INPUT_TOPIC_PARTITIONS: '24',
      },
      runtime,
    );
    expect(config.httpPort).toBe(7001);
    expect(config.instanceId).toBe('replica-3');
    expect(config.topicPrefix).toBe('test-1.');
    expect(config.logPretty).toBe(true);
    expect(config.inputTopicPartitions).toBe(24);
  });

  it('names every bad key in one error instead of stopping at the first', () => {
    const error = configError({
      ELS_REDIS_URL: 'http://127.0.0.1:6379',
      ELS_KAFKA_BROKERS: 'no-port-here',
      ELS_HTTP_PORT: 'eighty',
      ELS_LOG_LEVEL: 'loud',
      ELS_INPUT_TOPIC_PARTITIONS: '3',
    });
    expect(error.code).toBe('ELS_ERR_CONFIG_INVALID');
    expect(error.issues.map((issue) => issue.key)).toEqual([
      'ELS_DATABASE_URL',
      'ELS_HTTP_PORT',
      'ELS_INPUT_TOPIC_PARTITIONS',
      'ELS_KAFKA_BROKERS',
      'ELS_LOG_LEVEL',
      'ELS_REDIS_URL',
    ]);
    for (const key of ['ELS_DATABASE_URL', 'ELS_HTTP_PORT', 'ELS_KAFKA_BROKERS', 'ELS_REDIS_URL']) {
      expect(error.message).toContain(key);
    }
    expect(error.message).toContain('ELS_DATABASE_URL is required');
    expect(error.message).toContain('ELS_INPUT_TOPIC_PARTITIONS must be at least 12');
  });

  it('rejects an unknown ELS_ key as a probable typo and ignores other variables', () => {
    const error = configError({ ...required, ELS_HTTP_PROT: '6000', PATH: '/usr/bin' });
    expect(error.issues).toEqual([{ key: 'ELS_HTTP_PROT', reason: expect.stringContaining('not a known') }]);
  });

  it('rejects an empty or blank value instead of reading it as 0 or the default', () => {
    expect(configError({ ...required, ELS_HTTP_PORT: '' }).issues).toEqual([
      { key: 'ELS_HTTP_PORT', reason: 'is empty; remove it to use the default' },
    ]);
    expect(configError({ ...required, ELS_HTTP_PORT: '  ' }).issues[0]?.key).toBe('ELS_HTTP_PORT');
    expect(configError({ ...required, ELS_DATABASE_URL: '' }).issues).toEqual([
      { key: 'ELS_DATABASE_URL', reason: 'is empty; remove it to use the default' },
    ]);
    expect(configError({ ...required, ELS_RETRY_UNEXPECTED_MAX: '\t' }).issues[0]?.key).toBe(
      'ELS_RETRY_UNEXPECTED_MAX',
    );
  });

  it('accepts an empty topic prefix, which is its default (no prefix)', () => {
    expect(parseConfig({ ...required, ELS_TOPIC_PREFIX: '' }, runtime).topicPrefix).toBe('');
  });

  it('returns a deeply frozen object', () => {
    const config = parseConfig(required, runtime);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.kafkaBrokers)).toBe(true);
  });

  it('redacts passwords of connection URLs for logging', () => {
    const redacted = redactConfig(parseConfig(required, runtime));
    expect(redacted.databaseUrl).toBe('postgres://postgres:***@127.0.0.1:5432/els');
    expect(JSON.stringify(redacted)).not.toContain('secret');
  });

  it('lists every key it accepts', () => {
    expect(CONFIG_KEYS).toContain('ELS_DATABASE_URL');
    expect(CONFIG_KEYS).toHaveLength(33);
    expect(CONFIG_KEYS.every((key) => key.startsWith('ELS_'))).toBe(true);
  });
});
