import { randomUUID } from 'node:crypto';
import { TOPICS, parseEnvelope, topicName } from '@els/contracts';
import { makeContent } from '@els/contracts/testing';
import type { Kafka } from 'kafkajs';
import type { InboundMessage } from '../consumer/message-types';
import { silentLogger } from '../logger';
import { waitFor } from '@els/test-kit';
import { createEventConsumer, type EventConsumer } from './event-consumer';
import { createEventProducer, EVENT_ID_HEADER, ORIGIN_HEADER, type EventProducer } from './event-producer';
import { createKafkaClient } from './kafka-client';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];

describe('Kafka round trip through the real broker', () => {
  const prefix = `it-${randomUUID().slice(0, 8)}.`;
  const topic = topicName(TOPICS.essayContentProvisioned, prefix);
  let kafka: Kafka;
  let producer: EventProducer;
  let consumer: EventConsumer | undefined;

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers, clientId: `roundtrip-${prefix}`, logger: silentLogger });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
      });
    } finally {
      await admin.disconnect();
    }
    producer = createEventProducer(kafka, prefix, silentLogger);
    await producer.start();
  });

  afterAll(async () => {
    await consumer?.stop();
    await producer.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('delivers a produced content event to a consumer group that parses it back to the same envelope', async () => {
    const event = makeContent({ batchId: `batch-${randomUUID()}` });
    const received: InboundMessage[] = [];
    consumer = createEventConsumer(kafka, {
      groupId: `roundtrip-${prefix}`,
      topics: [topic],
      partitionsConsumedConcurrently: 3,
      logger: silentLogger,
      handleBatch: async (messages, control) => {
        for (const message of messages) {
          received.push(message);
          control.resolveOffset(message.offset);
        }
      },
    });
    await consumer.start();
    await waitFor('consumer joined its group', () => consumer?.joined() === true, { timeoutMs: 30_000 });

    const publishedAt = Date.now();
    const [result] = await producer.publish([
      {
        eventId: event.event_id,
        topic: TOPICS.essayContentProvisioned,
        key: event.data.entity_id,
        value: JSON.stringify(event),
      },
    ]);
    expect(result).toEqual({ ok: true });

    await waitFor('the event arrived', () => received.length > 0, { timeoutMs: 30_000 });
    const [message] = received;
    expect(message?.topic).toBe(topic);
    // The record's timestamp is the producer's send time: the worker's event-age metrics start from it.
    expect(message?.timestampMs).toBeGreaterThanOrEqual(publishedAt - 1000);
    expect(message?.timestampMs).toBeLessThanOrEqual(Date.now());
    const parsed = parseEnvelope(message?.value, topic);
    expect(parsed).toEqual({ ok: true, event: { name: 'EssayContentProvisionedV1', envelope: event } });
  });

  it('stamps every published record with its stored event id and, when known, its origin', async () => {
    const withOrigin = makeContent({ batchId: `batch-${randomUUID()}` });
    const withoutOrigin = makeContent({ batchId: `batch-${randomUUID()}` });
    const seen: Array<{ eventId: string | undefined; origin: string | undefined }> = [];
    const inspector = kafka.consumer({ groupId: `inspect-${prefix}` });
    await inspector.connect();
    try {
      await inspector.subscribe({ topics: [topic], fromBeginning: true });
      await inspector.run({
        eachMessage: async ({ message }) => {
          seen.push({
            eventId: message.headers?.[EVENT_ID_HEADER]?.toString(),
            origin: message.headers?.[ORIGIN_HEADER]?.toString(),
          });
        },
      });
      await producer.publish([
        {
          eventId: withOrigin.event_id,
          topic: TOPICS.essayContentProvisioned,
          key: 'k',
          value: JSON.stringify(withOrigin),
          origin: 'els-worker-replica-7',
        },
        {
          eventId: withoutOrigin.event_id,
          topic: TOPICS.essayContentProvisioned,
          key: 'k',
          value: JSON.stringify(withoutOrigin),
          origin: null,
        },
      ]);
      await waitFor(
        'both records with their headers arrived',
        () => [withOrigin, withoutOrigin].every((e) => seen.some((s) => s.eventId === e.event_id)),
        { timeoutMs: 30_000 },
      );
      expect(seen.find((s) => s.eventId === withOrigin.event_id)?.origin).toBe('els-worker-replica-7');
      expect(seen.find((s) => s.eventId === withoutOrigin.event_id)?.origin).toBeUndefined();
    } finally {
      await inspector.disconnect();
    }
  });

  it('commits only resolved offsets: what the processor left unresolved reaches the next member', async () => {
    const groupId = `resolve-${prefix}`;
    const batchId = `batch-${randomUUID()}`;
    const events = [0, 1, 2].map(() => makeContent({ batchId }));
    const results = await producer.publish(
      events.map((event) => ({
        eventId: event.event_id,
        topic: TOPICS.essayContentProvisioned,
        key: batchId,
        value: JSON.stringify(event),
      })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const ours = (message: InboundMessage) =>
      events.some((e) => message.value?.toString().includes(e.event_id));

    // The first member resolves only the first of our records it is handed, then stops.
    let firstResolved: InboundMessage | undefined;
    const first = createEventConsumer(kafka, {
      groupId,
      topics: [topic],
      partitionsConsumedConcurrently: 3,
      logger: silentLogger,
      handleBatch: async (messages, control) => {
        const mine = messages.filter(ours);
        if (firstResolved || mine.length === 0) return;
        firstResolved = mine[0];
        control.resolveOffset(mine[0]?.offset ?? '');
      },
    });
    await first.start();
    await waitFor('the first record resolved', () => firstResolved !== undefined, { timeoutMs: 30_000 });
    await first.stop();

    const admin = kafka.admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    const resolved = firstResolved as InboundMessage;
    const offset = committed?.partitions.find((p) => p.partition === resolved.partition)?.offset;
    expect(Number(offset)).toBe(Number(resolved.offset) + 1);

    // The next member of the group receives the two records left unresolved, and not the resolved one.
    const redelivered: InboundMessage[] = [];
    const second = createEventConsumer(kafka, {
      groupId,
      topics: [topic],
      partitionsConsumedConcurrently: 3,
      logger: silentLogger,
      handleBatch: async (messages, control) => {
        for (const message of messages) {
          if (ours(message)) redelivered.push(message);
          control.resolveOffset(message.offset);
        }
      },
    });
    try {
      await second.start();
      await waitFor('the unresolved records redelivered', () => redelivered.length >= 2, {
        timeoutMs: 30_000,
      });
    } finally {
      await second.stop();
    }
    expect(redelivered.map((m) => Number(m.offset))).toEqual([
      Number(resolved.offset) + 1,
      Number(resolved.offset) + 2,
    ]);
  });
});
