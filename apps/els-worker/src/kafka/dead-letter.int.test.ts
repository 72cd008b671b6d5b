import { randomUUID } from 'node:crypto';
import { TOPICS, topicName } from '@els/contracts';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { createBatchProcessor } from '../consumer/batch-processor';
import type { EventHandlers } from '../coordination-port';
import { silentLogger } from '../logger';
import { waitFor } from '@els/coordination/testing';
import { createEventConsumer, type EventConsumer } from './event-consumer';
import { createEventProducer, DEAD_LETTER_HEADERS, type EventProducer } from './event-producer';
import { createKafkaClient } from './kafka-client';
import { ensureTopics } from './topic-admin';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];

// Unusable messages never reach the database; a handler call here would be a routing bug.
const unreachable = async (): Promise<never> => {
  throw new Error('a malformed message reached a database handler');
};
const handlers: EventHandlers = {
  handleRegistration: unreachable,
  handleContent: unreachable,
  handleContentBatch: unreachable,
  handleValidationFailure: unreachable,
};

describe('dead letters through the real broker', () => {
  const prefix = `dlq-${randomUUID().slice(0, 8)}.`;
  const inputTopic = topicName(TOPICS.essayContentProvisioned, prefix);
  const deadLetterTopic = topicName(TOPICS.deadLetter, prefix);
  let kafka: Kafka;
  let producer: EventProducer;
  let consumer: EventConsumer | undefined;
  const inspector = { stop: async () => undefined as void };

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers, clientId: `dlq-${prefix}`, logger: silentLogger });
    const result = await ensureTopics(kafka, prefix, 12, silentLogger);
    expect(result.created).toHaveLength(7);
    producer = createEventProducer(kafka, prefix, silentLogger);
    await producer.start();
  });

  afterAll(async () => {
    await consumer?.stop();
    await inspector.stop();
    await producer.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({
      topics: await admin.listTopics().then((all) => all.filter((t) => t.startsWith(prefix))),
    });
    await admin.disconnect();
  });

  it('publishes malformed bytes unchanged to the dead-letter topic with headers naming source and error, then commits past them', async () => {
    const groupId = `dlq-group-${prefix}`;
    consumer = createEventConsumer(kafka, {
      groupId,
      topics: [inputTopic],
      partitionsConsumedConcurrently: 3,
      logger: silentLogger,
      handleBatch: createBatchProcessor({
        handlers,
        classifyError: (error) => ({
          code: 'ELS_ERR_INTERNAL',
          retriable: true,
          message: String(error),
          cause: error,
        }),
        eventFilter: { filterSeen: async () => new Set(), markSeen: async () => undefined },
        publishDeadLetters: (letters) => producer.publishDeadLetters(letters),
        maxMessageBytes: 1_048_576,
        maxContentBatch: 100,
        retryMaxBackoffMs: 100,
        logger: silentLogger,
      }),
    });
    await consumer.start();
    await waitFor('consumer joined its group', () => consumer?.joined() === true, { timeoutMs: 30_000 });

    const raw = kafka.producer();
    await raw.connect();
    const metadata = await raw.send({
      topic: inputTopic,
      messages: [{ key: 'k1', value: Buffer.from([0xff, 0xfe, 0x00]), partition: 4 }],
    });
    await raw.disconnect();
    const sourceOffset = metadata[0]?.baseOffset;

    const letters: KafkaMessage[] = [];
    const reader = kafka.consumer({ groupId: `dlq-reader-${prefix}` });
    inspector.stop = () => reader.disconnect();
    await reader.connect();
    await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void letters.push(message) });
    await waitFor('a dead letter arrived', () => letters.length > 0, { timeoutMs: 30_000 });

    const [letter] = letters;
    expect(letter?.value).toEqual(Buffer.from([0xff, 0xfe, 0x00]));
    expect(letter?.key?.toString()).toBe('k1');
    const header = (name: string) => letter?.headers?.[name]?.toString();
    expect(header(DEAD_LETTER_HEADERS.sourceTopic)).toBe(inputTopic);
    expect(header(DEAD_LETTER_HEADERS.sourcePartition)).toBe('4');
    expect(header(DEAD_LETTER_HEADERS.sourceOffset)).toBe(sourceOffset);
    expect(header(DEAD_LETTER_HEADERS.errorCode)).toBe('ELS_ERR_CONTRACT_NOT_JSON');
    expect(header(DEAD_LETTER_HEADERS.errorMessage)).toContain('not UTF-8 JSON');

    await consumer.stop();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [inputTopic] });
      const partition = committed?.partitions.find((p) => p.partition === 4);
      expect(partition?.offset).toBe(String(Number(sourceOffset) + 1));
    } finally {
      await admin.disconnect();
    }
  });
});
