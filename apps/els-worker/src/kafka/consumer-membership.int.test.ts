import { randomUUID } from 'node:crypto';
import { TOPICS, topicName } from '@els/contracts';
import { TEST_KAFKA_BROKERS, uniqueKafkaNames, waitFor } from '@els/test-kit';
import type { Kafka } from 'kafkajs';
import { makeContent, toWire } from '@els/contracts/testing';
import { createBatchProcessor } from '../consumer/batch-processor';
import { silentLogger } from '../logger';
import { createEventConsumer, type EventConsumer, type EventConsumerOptions } from './event-consumer';
import { createEventProducer, type EventProducer } from './event-producer';
import { createKafkaClient } from './kafka-client';

const names = uniqueKafkaNames('membership');
const topic = topicName(TOPICS.essayContentProvisioned, names.topicPrefix);

let kafka: Kafka;
let producer: EventProducer;
const consumers: EventConsumer[] = [];

function consumer(groupId: string, overrides: Partial<EventConsumerOptions> = {}): EventConsumer {
  const created = createEventConsumer(kafka, {
    groupId,
    topics: [topic],
    partitionsConsumedConcurrently: 2,
    logger: silentLogger,
    handleBatch: async (messages, control) => {
      for (const message of messages) control.resolveOffset(message.offset);
    },
    ...overrides,
  });
  consumers.push(created);
  return created;
}

async function publish(count: number): Promise<void> {
  const results = await producer.publish(
    Array.from({ length: count }, (_, i) => ({
      eventId: randomUUID(),
      topic: TOPICS.essayContentProvisioned,
      key: `key-${i}`,
      value: JSON.stringify({ n: i }),
    })),
  );
  expect(results.every((r) => r.ok)).toBe(true);
}

beforeAll(async () => {
  kafka = createKafkaClient({
    brokers: TEST_KAFKA_BROKERS,
    clientId: `membership-${names.consumerGroup}`,
    logger: silentLogger,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 4, replicationFactor: 1 }],
    });
  } finally {
    await admin.disconnect();
  }
  producer = createEventProducer(kafka, names.topicPrefix, silentLogger);
  await producer.start();
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await producer.stop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

describe('consumer group membership', () => {
  it('reports not joined while a second member joining rebalances the group, and joined again after', async () => {
    const groupId = `${names.consumerGroup}-rebalance`;
    const transitions: boolean[] = [];
    const first = consumer(groupId, { onMembership: (joined) => transitions.push(joined) });
    await first.start();
    await waitFor('the first member joined', () => first.joined(), { timeoutMs: 30_000 });
    expect(transitions).toEqual([true]);

    const second = consumer(groupId);
    await second.start();
    await waitFor('the first member saw the rebalance', () => transitions.includes(false), {
      timeoutMs: 30_000,
    });
    await waitFor('both members joined the new generation', () => first.joined() && second.joined(), {
      timeoutMs: 30_000,
    });
    expect(transitions).toEqual([true, false, true]);
  });

  it('reports not joined once it has been silent for a session timeout (evicted), and joined after it rejoins', async () => {
    const groupId = `${names.consumerGroup}-evicted`;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let blocked = false;
    // The handler holds its first batch without heartbeating, as a replica stuck on a dead call would.
    const member = consumer(groupId, {
      sessionTimeoutMs: 6000,
      handleBatch: async (messages, control) => {
        if (!blocked && messages.length > 0) {
          blocked = true;
          await released;
        }
        for (const message of messages) control.resolveOffset(message.offset);
      },
    });
    await member.start();
    await waitFor('the member joined', () => member.joined(), { timeoutMs: 30_000 });
    await publish(4);
    await waitFor('the handler is holding a batch', () => blocked, { timeoutMs: 30_000 });
    const heldAt = Date.now();
    await waitFor('the member reports itself evicted', () => !member.joined(), { timeoutMs: 15_000 });
    expect(Date.now() - heldAt).toBeGreaterThanOrEqual(5000);
    release();
    await waitFor('the member rejoined', () => member.joined(), { timeoutMs: 30_000 });
  });

  it('replaces a consumer that stays out of its group past the rejoin timeout, and the new one consumes', async () => {
    const groupId = `${names.consumerGroup}-replaced`;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let stuck = false;
    const handled = new Set<string>();
    // The first batch never returns (as a consumer that stopped fetching after a broker restart never
    // comes back): without a replacement the member would stay out of the group for good.
    const member = consumer(groupId, {
      sessionTimeoutMs: 6000,
      rejoinTimeoutMs: 4000,
      handleBatch: async (messages, control) => {
        if (!stuck && messages.length > 0) {
          stuck = true;
          await released;
          return;
        }
        for (const message of messages) {
          handled.add(`${message.partition}@${message.offset}`);
          control.resolveOffset(message.offset);
        }
      },
    });
    try {
      await member.start();
      await waitFor('the member joined', () => member.joined(), { timeoutMs: 30_000 });
      await publish(4);
      await waitFor('the first consumer is stuck in a batch', () => stuck, { timeoutMs: 30_000 });
      await waitFor('the member reports itself evicted', () => !member.joined(), { timeoutMs: 15_000 });
      await waitFor('a replacement consumer joined', () => member.joined(), { timeoutMs: 40_000 });
      await waitFor('the replacement consumed what the stuck one held', () => handled.size >= 4, {
        timeoutMs: 30_000,
      });
    } finally {
      release();
    }
  });

  it('lets the in-flight batch run for the drain time on stop, then reports its unresolved messages as uncommitted', async () => {
    const groupId = `${names.consumerGroup}-drain`;
    let inBatch = false;
    let gaveUpAt: number | undefined;
    // A batch whose dependency never answers: it retries while it is allowed to and resolves nothing.
    const member = consumer(groupId, {
      handleBatch: async (messages, control) => {
        if (messages.length === 0) return;
        inBatch = true;
        while (control.isActive()) await new Promise((resolve) => setTimeout(resolve, 20));
        gaveUpAt = Date.now();
      },
    });
    await member.start();
    await waitFor('the member joined', () => member.joined(), { timeoutMs: 30_000 });
    await publish(2);
    await waitFor('a batch is in flight', () => inBatch, { timeoutMs: 30_000 });
    expect(member.leftWorkUncommitted()).toBe(false);
    const stopAt = Date.now();
    await member.stop({ drainMs: 1000 });
    expect(gaveUpAt).toBeDefined();
    expect((gaveUpAt ?? 0) - stopAt).toBeGreaterThanOrEqual(900);
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(member.leftWorkUncommitted()).toBe(true);
  });

  it('reports no uncommitted work when every fetched message was resolved before stop', async () => {
    const groupId = `${names.consumerGroup}-clean`;
    let handled = 0;
    const member = consumer(groupId, {
      handleBatch: async (messages, control) => {
        for (const message of messages) {
          control.resolveOffset(message.offset);
          handled++;
        }
      },
    });
    await member.start();
    await waitFor('the member consumed the topic', () => handled > 0, { timeoutMs: 30_000 });
    await member.stop({ drainMs: 1000 });
    expect(member.leftWorkUncommitted()).toBe(false);
  });

  it('keeps its membership through a fetched batch whose steps add up to more than a session timeout on a slow database', async () => {
    const groupId = `${names.consumerGroup}-slow-database`;
    const STEP_MS = 600;
    const MESSAGES = 16; // 16 steps of 600 ms: about 10 s of work in one fetch, against a 6 s session timeout
    const handled: string[] = [];
    let lostMembership = false;
    const slowly = async <T>(value: T): Promise<T> => {
      await new Promise((resolve) => setTimeout(resolve, STEP_MS));
      return value;
    };
    const member = consumer(groupId, {
      sessionTimeoutMs: 6000,
      partitionsConsumedConcurrently: 1,
      onMembership: (joined) => {
        if (!joined) lostMembership = true;
      },
      // The real processor, one content event per step, every database call slow (a database behind a
      // high-latency link, or one working through a backlog).
      handleBatch: createBatchProcessor({
        handlers: {
          handleRegistration: () => Promise.reject(new Error('not sent')),
          handleValidationFailure: () => Promise.reject(new Error('not sent')),
          handleContent: () => Promise.reject(new Error('runs are handled whole')),
          handleContentBatch: async (envelopes) => {
            handled.push(...envelopes.map((e) => e.data.text_storage_id));
            return slowly(
              envelopes.map((e) => ({
                kind: 'pending' as const,
                batchId: e.data.entity_id,
                textStorageId: e.data.text_storage_id,
              })),
            );
          },
        },
        classifyError: (error) => ({
          code: 'ELS_ERR_INTERNAL',
          retriable: true,
          message: String(error),
          cause: error,
        }),
        eventFilter: { filterSeen: async () => new Set(), markSeen: async () => undefined },
        publishDeadLetters: async () => undefined,
        maxMessageBytes: 1_048_576,
        maxContentBatch: 1,
        retryMaxBackoffMs: 100,
        logger: silentLogger,
      }),
    });
    await member.start();
    await waitFor('the member joined', () => member.joined(), { timeoutMs: 30_000 });
    lostMembership = false;
    // Every message on one partition, so one fetch holds them all.
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({
      topic,
      messages: Array.from({ length: MESSAGES }, (_, i) => ({
        partition: 3,
        key: 'slow',
        value: toWire(makeContent({ batchId: 'slow-batch', textStorageId: `slow-t${i}` })),
      })),
    });
    await raw.disconnect();
    await waitFor('every message handled', () => handled.length >= MESSAGES, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    // The work took longer than the session timeout: a member that had not heartbeaten was evicted on the way.
    expect(lostMembership).toBe(false);
    expect(member.joined()).toBe(true);
    expect(handled).toEqual(Array.from({ length: MESSAGES }, (_, i) => `slow-t${i}`));
  }, 120_000);
});
