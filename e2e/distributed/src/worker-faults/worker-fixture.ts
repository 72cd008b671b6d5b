import { topicName, type BaseTopic } from '@els/contracts';
import { createLeakGuard, uniqueKafkaNames } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from '@els/coordination/testing';
import type { Kafka, Producer } from 'kafkajs';
import path from 'node:path';
import {
  createOutputCollector,
  createRawProducer,
  createTestKafka,
  createWorkerCluster,
  deleteTopicsWithPrefix,
  integrationLogDir,
  type OutputCollector,
  type WorkerCluster,
} from '@els/harness';

/**
 * One worker test environment: its own database (a clone of the migrated template), topic prefix and
 * consumer group, N real worker processes, a collector reading every output topic, and a raw producer.
 */
export interface WorkerFixture {
  db: TestDatabase;
  topicPrefix: string;
  consumerGroup: string;
  kafka: Kafka;
  cluster: WorkerCluster;
  collector: OutputCollector;
  producer: Producer;
  topic(base: BaseTopic): string;
  send(base: BaseTopic, messages: { key: string; value: Buffer; partition?: number }[]): Promise<void>;
  close(): Promise<void>;
}

export interface WorkerFixtureOptions {
  replicas?: number;
  env?: Record<string, string>;
  /** Rewrites the database URL the replicas connect to (e.g. through a fault proxy); the test's own stays direct. */
  routeDatabase?: (url: string) => string;
}

export async function openWorkerFixture(
  label: string,
  options: WorkerFixtureOptions = {},
): Promise<WorkerFixture> {
  const guard = createLeakGuard();
  const db = await createTestDatabase({ max: 3 });
  const { topicPrefix, consumerGroup } = uniqueKafkaNames(label);
  const kafka = createTestKafka(`fixture-${label}`);
  const cluster = createWorkerCluster({
    label,
    replicas: options.replicas ?? 1,
    databaseUrl: db.url,
    topicPrefix,
    consumerGroup,
    logDir: path.join(integrationLogDir, `${label}-${topicPrefix.slice(1, 9)}`),
    env: options.env ?? {},
    ...(options.routeDatabase
      ? { endpointsFor: () => ({ databaseUrl: options.routeDatabase?.(db.url) ?? db.url }) }
      : {}),
    onSpawn: (child) => guard.trackChild(child),
  });
  let collector: OutputCollector | undefined;
  let producer: Producer | undefined;
  const close = async () => {
    await cluster.stop();
    await collector?.stop();
    await producer?.disconnect();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await db.drop();
    await guard.assertNoLeaks();
  };
  try {
    await cluster.migrate();
    collector = await createOutputCollector(kafka, topicPrefix);
    producer = await createRawProducer(kafka);
    await cluster.start();
    await collector.ready();
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  const topic = (base: BaseTopic) => topicName(base, topicPrefix);
  const rawProducer = producer;
  return {
    db,
    topicPrefix,
    consumerGroup,
    kafka,
    cluster,
    collector,
    producer,
    topic,
    async send(base, messages) {
      await rawProducer.send({ topic: topic(base), acks: -1, messages });
    },
    close,
  };
}

/**
 * Opens a fixture before the tests of the enclosing `describe` and closes it after them. `restore` runs
 * first on the way out (a service a test may have left stopped). Returns a getter for the open fixture.
 */
export function useWorkerFixture(
  label: string,
  options: WorkerFixtureOptions & { restore?: () => Promise<void> } = {},
): () => WorkerFixture {
  let fixture: WorkerFixture | undefined;
  beforeAll(async () => {
    fixture = await openWorkerFixture(label, options);
  }, 180_000);
  afterAll(async () => {
    await options.restore?.();
    await fixture?.close();
  }, 90_000);
  return () => {
    if (!fixture) throw new Error(`worker fixture ${label} is not open`);
    return fixture;
  };
}
