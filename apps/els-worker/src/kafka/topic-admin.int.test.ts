import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { TOPICS, topicName } from '@els/contracts';
import { uniqueKafkaNames, waitFor } from '@els/test-kit';
import { ConfigResourceTypes, ConfigSource, type Admin, type Kafka } from 'kafkajs';
import type { InboundMessage } from '../consumer/message-types';
import { silentLogger } from '../logger';
import {
  createEventProducer,
  DEAD_LETTER_ERROR_MESSAGE_MAX_BYTES,
  DEAD_LETTER_HEADERS,
  type EventProducer,
} from './event-producer';
import { createKafkaClient } from './kafka-client';
import {
  COMPLETION_TOPIC_MAX_MESSAGE_BYTES,
  DEAD_LETTER_HEADROOM_BYTES,
  ensureTopics,
  INPUT_TOPIC_MAX_MESSAGE_BYTES,
  topicPlan,
} from './topic-admin';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];
const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Every config set on each topic itself (not inherited defaults), by topic. */
async function topicOverrides(admin: Admin, topics: readonly string[]) {
  const response = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  return Object.fromEntries(
    response.resources.map((resource) => [
      resource.resourceName,
      Object.fromEntries(
        resource.configEntries
          .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG)
          .map((entry) => [entry.configName, entry.configValue]),
      ),
    ]),
  );
}

async function maxMessageBytesOf(admin: Admin, topic: string): Promise<number> {
  const response = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
  });
  return Number(response.resources[0]?.configEntries[0]?.configValue);
}

/** Reads `count` records of `topic` from the beginning, as the worker's consumer receives them. */
async function readRecords(kafka: Kafka, topic: string, count: number): Promise<InboundMessage[]> {
  const records: InboundMessage[] = [];
  const reader = kafka.consumer({ groupId: `reader-${randomUUID()}`, maxBytes: 32 * 1024 * 1024 });
  await reader.connect();
  try {
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ partition, message }) =>
        void records.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          timestampMs: Number(message.timestamp),
          headers: message.headers,
        } as InboundMessage),
    });
    await waitFor(`${count} records on ${topic}`, () => records.length >= count, { timeoutMs: 60_000 });
    return records;
  } finally {
    await reader.disconnect();
  }
}

describe('ensureTopics on a real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  const prefixes: string[] = [];

  function newPrefix(label: string): string {
    const { topicPrefix } = uniqueKafkaNames(label);
    prefixes.push(topicPrefix);
    return topicPrefix;
  }

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers, clientId: `topic-admin-${randomUUID()}`, logger: silentLogger });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    const all = await admin.listTopics();
    const ours = all.filter((topic) => prefixes.some((prefix) => topic.startsWith(prefix)));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
    await admin.disconnect();
  });

  describe('a dead-letter topic that already existed with the broker default limit', () => {
    const prefix = newPrefix('dlq-raise');
    const inputTopic = topicName(TOPICS.essayContentProvisioned, prefix);
    const deadLetterTopic = topicName(TOPICS.deadLetter, prefix);
    let producer: EventProducer | undefined;

    afterAll(async () => {
      await producer?.stop();
    });

    it('is raised by ensureTopics, and two inputs of nearly the input limit reach it as dead letters with their original bytes', async () => {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: deadLetterTopic, numPartitions: 12, replicationFactor: 1 }],
      });
      expect(await maxMessageBytesOf(admin, deadLetterTopic)).toBe(BROKER_DEFAULT_MAX_MESSAGE_BYTES);

      const result = await ensureTopics(kafka, prefix, 12, silentLogger);
      expect(result.raised).toContain(deadLetterTopic);
      expect(result.created).not.toContain(deadLetterTopic);
      expect(await maxMessageBytesOf(admin, deadLetterTopic)).toBe(
        INPUT_TOPIC_MAX_MESSAGE_BYTES + DEAD_LETTER_HEADROOM_BYTES,
      );

      // Two records just under the input topic's limit, same key (so same partition) and random bytes
      // (incompressible), as a producer may legitimately send them.
      const raw = kafka.producer();
      await raw.connect();
      const values = [0, 1].map(() => randomBytes(INPUT_TOPIC_MAX_MESSAGE_BYTES - 1024));
      try {
        for (const value of values) {
          await raw.send({ topic: inputTopic, acks: -1, messages: [{ key: 'same-key', value }] });
        }
      } finally {
        await raw.disconnect();
      }
      const inputs = await readRecords(kafka, inputTopic, 2);

      producer = createEventProducer(kafka, prefix, silentLogger);
      await producer.start();
      const longReason = `$.data.text_storage_id: ${'字'.repeat(5000)}`;
      await producer.publishDeadLetters(
        inputs.map((message) => ({ message, code: 'ELS_ERR_CONTRACT_TOO_LARGE', reason: longReason })),
      );
      const letters = await readRecords(kafka, deadLetterTopic, 2);
      const byOffset = (a: InboundMessage, b: InboundMessage) => Number(a.offset) - Number(b.offset);
      // Compared by digest: jest's deep equality walks 4 MiB buffers byte by byte.
      const digest = (value: Buffer | null) =>
        value ? createHash('sha256').update(value).digest('hex') : null;
      expect(letters.sort(byOffset).map((letter) => digest(letter.value))).toEqual(values.map(digest));
      expect(letters.map((letter) => letter.value?.byteLength)).toEqual(values.map((v) => v.byteLength));
      for (const letter of letters) {
        const headers = (letter as InboundMessage & { headers: Record<string, Buffer | undefined> }).headers;
        expect(headers[DEAD_LETTER_HEADERS.sourceTopic]?.toString()).toBe(inputTopic);
        const message = headers[DEAD_LETTER_HEADERS.errorMessage];
        expect(message?.byteLength).toBeLessThanOrEqual(DEAD_LETTER_ERROR_MESSAGE_MAX_BYTES);
        expect(message?.toString()).toMatch(/^\$\.data\.text_storage_id: 字+$/);
      }
    }, 120_000);
  });

  describe('existing topics with other configs', () => {
    const prefix = newPrefix('configs');
    const registrations = topicName(TOPICS.batchEssaysRegistered, prefix);
    const contents = topicName(TOPICS.essayContentProvisioned, prefix);
    const completions = topicName(TOPICS.batchContentProvisioningCompleted, prefix);
    const deadLetters = topicName(TOPICS.deadLetter, prefix);

    it('raises only what is below the plan, keeps every other config, and leaves the same configs when run twice and concurrently', async () => {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: registrations,
            numPartitions: 12,
            replicationFactor: 1,
            configEntries: [
              { name: 'max.message.bytes', value: String(1024 * 1024) },
              { name: 'retention.ms', value: '3600000' },
              { name: 'cleanup.policy', value: 'delete' },
            ],
          },
          {
            // An operator gave this input more than the plan: never lowered, and the dead-letter
            // topic follows it.
            topic: contents,
            numPartitions: 12,
            replicationFactor: 1,
            configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
          },
          {
            topic: completions,
            numPartitions: 12,
            replicationFactor: 1,
            configEntries: [{ name: 'retention.ms', value: '7200000' }],
          },
        ],
      });

      const first = await ensureTopics(kafka, prefix, 12, silentLogger);
      // The dead-letter topic is created with the plan's limit, then raised to follow the larger input.
      expect(first.raised.sort()).toEqual([completions, deadLetters, registrations].sort());
      expect(first.created).toContain(deadLetters);
      const topics = topicPlan(prefix, 12).map((entry) => entry.topic);
      const afterFirst = await topicOverrides(admin, topics);
      expect(afterFirst[registrations]).toEqual({
        'max.message.bytes': String(INPUT_TOPIC_MAX_MESSAGE_BYTES),
        'retention.ms': '3600000',
        'cleanup.policy': 'delete',
      });
      expect(afterFirst[contents]).toEqual({ 'max.message.bytes': String(8 * 1024 * 1024) });
      expect(afterFirst[completions]).toEqual({
        'max.message.bytes': String(COMPLETION_TOPIC_MAX_MESSAGE_BYTES),
        'retention.ms': '7200000',
      });
      expect(afterFirst[deadLetters]).toEqual({
        'max.message.bytes': String(8 * 1024 * 1024 + DEAD_LETTER_HEADROOM_BYTES),
      });

      const again = await Promise.all([
        ensureTopics(kafka, prefix, 12, silentLogger),
        ensureTopics(kafka, prefix, 12, silentLogger),
      ]);
      expect(again.map((result) => result.raised)).toEqual([[], []]);
      expect(await topicOverrides(admin, topics)).toEqual(afterFirst);
    }, 120_000);
  });

  describe('topics that exist with the broker default limit, raised by concurrent runs', () => {
    const prefix = newPrefix('concurrent');

    it('ends with the planned limits whichever run raises them', async () => {
      const plan = topicPlan(prefix, 12);
      await admin.createTopics({
        waitForLeaders: true,
        topics: plan.map((entry) => ({ topic: entry.topic, numPartitions: 12, replicationFactor: 1 })),
      });
      const results = await Promise.all([
        ensureTopics(kafka, prefix, 12, silentLogger),
        ensureTopics(kafka, prefix, 12, silentLogger),
        ensureTopics(kafka, prefix, 12, silentLogger),
      ]);
      const raisedByAny = new Set(results.flatMap((result) => result.raised));
      const planned = plan.filter((entry) => entry.maxMessageBytes !== undefined);
      expect([...raisedByAny].sort()).toEqual(planned.map((entry) => entry.topic).sort());
      const overrides = await topicOverrides(
        admin,
        plan.map((entry) => entry.topic),
      );
      for (const entry of plan) {
        expect({ topic: entry.topic, ...overrides[entry.topic] }).toEqual({
          topic: entry.topic,
          ...(entry.maxMessageBytes ? { 'max.message.bytes': String(entry.maxMessageBytes) } : {}),
        });
      }
    }, 120_000);
  });
});
