import type { Sql } from './coordination-port';
import { parseConfig } from './config';
import type { EventConsumer, EventProducer, KafkaTransport } from './kafka/kafka-transport';
import { silentLogger } from './logger';
import { buildWorker } from './worker';

const config = parseConfig(
  {
    ELS_DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:5432/els',
    ELS_REDIS_URL: 'redis://127.0.0.1:6379',
    ELS_KAFKA_BROKERS: '127.0.0.1:9092',
    ELS_HTTP_PORT: '0',
  },
  { hostname: 'worker-host', pid: 4242 },
);

/** A transport whose producer and consumer only record what was asked of them. */
function recordingKafka(calls: string[]): KafkaTransport {
  const producer: EventProducer = {
    start: async () => void calls.push('producer start'),
    stop: async () => void calls.push('producer stop'),
    publish: async () => [],
    publishDeadLetters: async () => undefined,
  };
  const consumer: EventConsumer = {
    start: async () => void calls.push('consumer start'),
    stop: async () => void calls.push('consumer stop'),
    joined: () => false,
    leftWorkUncommitted: () => false,
  };
  return {
    ensureTopics: () => Promise.reject(new Error('not used')),
    createProducer: () => producer,
    createConsumer: () => consumer,
  };
}

describe('worker', () => {
  it('stops its parts in reverse start order but for the relay (after the consumer) and HTTP (after the producer)', async () => {
    const calls: string[] = [];
    const worker = buildWorker(config, {
      // Nothing below reaches the database: no part was started.
      sql: {} as Sql,
      kafka: recordingKafka(calls),
      logger: silentLogger,
    });
    const report = await worker.stop({ budgetMs: 5000 });
    expect(report.steps.map((step) => [step.name, step.status])).toEqual([
      ['consumer', 'stopped'],
      ['relay flush', 'stopped'],
      ['relay', 'stopped'],
      ['completion sweeper', 'stopped'],
      ['outbox sweeper', 'stopped'],
      ['producer', 'stopped'],
      ['http', 'stopped'],
      ['redis filter', 'stopped'],
    ]);
    expect(calls).toEqual(['consumer stop', 'producer stop']);
    expect(report.clean).toBe(true);
  });
});
