import { parse as parseYaml } from 'yaml';
import { composeRunOverride, innerDatabaseUrl } from './compose-cluster';

describe('Compose driver run settings', () => {
  it('points the containers at the run database through the postgres service, keeping name and user', () => {
    expect(innerDatabaseUrl('postgres://els:els@127.0.0.1:15432/els_test_0123abcd')).toBe(
      'postgres://els:els@postgres:5432/els_test_0123abcd',
    );
  });

  it('writes an override giving replicas and migrate the run settings, with no engine restarts', () => {
    const text = composeRunOverride({
      label: 's1',
      replicas: 3,
      databaseUrl: 'postgres://els:els@127.0.0.1:15432/els_test_x',
      topicPrefix: 'e2e-s1-abc.',
      consumerGroup: 'e2e-s1-abc',
      logDir: '/tmp/unused',
      env: { ELS_RETRY_UNEXPECTED_MAX: '2' },
      onSpawn: () => undefined,
    });
    const override = parseYaml(text) as {
      services: Record<string, { restart?: string; environment: Record<string, string> }>;
    };
    const worker = override.services['els-worker'];
    expect(worker?.restart).toBe('no');
    expect(worker?.environment).toMatchObject({
      ELS_DATABASE_URL: 'postgres://els:els@postgres:5432/els_test_x',
      ELS_KAFKA_BROKERS: 'kafka:9092',
      ELS_REDIS_URL: 'redis://redis:6379',
      ELS_TOPIC_PREFIX: 'e2e-s1-abc.',
      ELS_CONSUMER_GROUP: 'e2e-s1-abc',
      ELS_RETRY_UNEXPECTED_MAX: '2',
    });
    expect(override.services['migrate']?.environment).toEqual(worker?.environment);
    expect(worker).not.toHaveProperty('cpus');
  });

  it('caps each replica container at the run’s CPU share, and not the one-shot migrate', () => {
    const text = composeRunOverride({
      label: 's6',
      replicas: 1,
      databaseUrl: 'postgres://els:els@127.0.0.1:15432/els_test_x',
      topicPrefix: 'e2e-s6-abc.',
      consumerGroup: 'e2e-s6-abc',
      logDir: '/tmp/unused',
      replicaCpus: 0.25,
    });
    const override = parseYaml(text) as { services: Record<string, { cpus?: number }> };
    expect(override.services['els-worker']?.cpus).toBe(0.25);
    expect(override.services['migrate']).not.toHaveProperty('cpus');
  });
});
