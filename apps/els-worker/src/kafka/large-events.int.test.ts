import { randomBytes, randomUUID } from 'node:crypto';
import {
  COMPLETION_EVENT_MAX_BYTES,
  OUTPUT_TOPICS,
  TOPICS,
  buildBatchContentProvisioningCompleted,
  buildEssaySlotAssigned,
  topicName,
} from '@els/contracts';
import { waitFor } from '@els/test-kit';
import type { Kafka } from 'kafkajs';
import { silentLogger } from '../logger';
import { createEventProducer, type EventProducer } from './event-producer';
import { createKafkaClient } from './kafka-client';
import { ensureTopics, topicPlan } from './topic-admin';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];

/** A completion event for a batch of `size` essays with UUID-sized ids. */
function completionOf(size: number, idOf: (i: number) => string = () => randomUUID()) {
  const batchId = `batch-${randomUUID()}`;
  return buildBatchContentProvisioningCompleted({
    batchId,
    expectedCount: size,
    courseCode: 'ENG5',
    userId: 'user-1',
    essaysForProcessing: Array.from({ length: size }, (_, i) => ({
      essay_id: `essay-${idOf(i)}`,
      text_storage_id: `text-${idOf(i)}`,
    })),
    correlationId: randomUUID(),
    at: new Date(),
  });
}

describe('large output events on topics created by migrate', () => {
  const prefix = `it-large-${randomUUID().slice(0, 8)}.`;
  const completedTopic = topicName(TOPICS.batchContentProvisioningCompleted, prefix);
  const assignedTopic = topicName(TOPICS.essaySlotAssigned, prefix);
  let kafka: Kafka;
  let producer: EventProducer;

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers, clientId: `large-${prefix}`, logger: silentLogger });
    await ensureTopics(kafka, prefix, 12, silentLogger);
    producer = createEventProducer(kafka, prefix, silentLogger);
    await producer.start();
  });

  afterAll(async () => {
    await producer.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: topicPlan(prefix, 12).map((entry) => entry.topic) })
      .catch(() => undefined);
    await admin.disconnect();
  });

  async function readBack(topic: string, count: number): Promise<string[]> {
    const values: string[] = [];
    const reader = kafka.consumer({ groupId: `reader-${randomUUID()}` });
    await reader.connect();
    try {
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? ''),
      });
      await waitFor(`${count} records on ${topic}`, () => values.length >= count, { timeoutMs: 30_000 });
      return values;
    } finally {
      await reader.disconnect();
    }
  }

  it('publishes the completion of a 10,000-essay batch (over 1 MiB of JSON) and it reads back whole', async () => {
    const completion = completionOf(10_000);
    const value = JSON.stringify(completion.envelope);
    expect(Buffer.byteLength(value)).toBeGreaterThan(1024 * 1024);
    const results = await producer.publish([
      { eventId: completion.envelope.event_id, topic: completion.topic, key: completion.key, value },
    ]);
    expect(results).toEqual([{ ok: true }]);
    const [read] = await readBack(completedTopic, 1);
    expect(read).toBe(value);
  });

  it('a completion the broker refuses fails alone: the small events published with it still go out', async () => {
    // Random ids, about 19 MB after gzip: above the topic's limit of 16 MiB + 64 KiB. (Registration
    // refuses batches whose completion could get this large; the relay must still survive one.)
    const refused = completionOf(100_000, () => randomBytes(96).toString('base64url'));
    const assigned = buildEssaySlotAssigned({
      batchId: `batch-${randomUUID()}`,
      essayId: 'essay-1',
      textStorageId: 'text-1',
      fileUploadId: 'upload-1',
      originalFileName: 'a.txt',
      correlationId: randomUUID(),
      at: new Date(),
    });
    const results = await producer.publish([
      {
        eventId: refused.envelope.event_id,
        topic: refused.topic,
        key: refused.key,
        value: JSON.stringify(refused.envelope),
      },
      {
        eventId: assigned.envelope.event_id,
        topic: assigned.topic,
        key: assigned.key,
        value: JSON.stringify(assigned.envelope),
      },
    ]);
    expect(results[0]?.ok).toBe(false);
    expect(results[1]).toEqual({ ok: true });
    expect(await readBack(assignedTopic, 1)).toEqual([JSON.stringify(assigned.envelope)]);
  });

  it('every output topic the worker creates accepts the event sizes it publishes', () => {
    const planned = new Map(topicPlan(prefix, 12).map((entry) => [entry.topic, entry.maxMessageBytes]));
    expect(planned.get(completedTopic)).toBeGreaterThan(COMPLETION_EVENT_MAX_BYTES);
    for (const base of OUTPUT_TOPICS) expect(planned.has(topicName(base, prefix))).toBe(true);
  });
});
