import { randomUUID } from 'node:crypto';
import { TOPICS, topicName } from '@els/contracts';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { createBatchProcessor, type BatchProcessorOptions } from '../consumer/batch-processor';
import type { EventHandlers } from '../coordination-port';
import { silentLogger } from '../logger';
import { waitFor } from '@els/test-kit';
import { createEventConsumer, type EventConsumer } from './event-consumer';
import { createHash } from 'node:crypto';
import { createRetryTracker } from '../consumer/retry-tracker';
import type { ProcessorEvent } from '../consumer/processor-events';
import { isPermanentBrokerRefusal } from './broker-refusal';
import {
  createEventProducer,
  DEAD_LETTER_HEADERS,
  REFERENCE_LETTER_HEADERS,
  type EventProducer,
} from './event-producer';
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
  /** A processor over `handlers` that dead-letters through the real producer. */
  const processorOptions = (): BatchProcessorOptions => ({
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
  });
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
      handleBatch: createBatchProcessor(processorOptions()),
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

  describe('when the dead-letter topic refuses a letter for good', () => {
    const setLimit = async (bytes: number) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: 2, // TOPIC
              name: deadLetterTopic,
              configEntries: [{ name: 'max.message.bytes', value: String(bytes) }],
            },
          ],
        });
      } finally {
        await admin.disconnect();
      }
    };
    const processorFor = (events: ProcessorEvent[], tracker = createRetryTracker()) =>
      createBatchProcessor({
        ...processorOptions(),
        isPermanentBrokerRefusal,
        onEvent: (event) => {
          tracker.observe(event);
          events.push(event);
        },
      });
    const bigMessage = (offset: string) => ({
      topic: inputTopic,
      partition: 7,
      offset,
      key: Buffer.from('big-key'),
      // Not JSON (a contract error), and larger than the dead-letter topic will accept.
      value: Buffer.alloc(20_000, 0xff),
    });

    afterEach(() => setLimit(1_048_576 + 65_536));

    it('writes a reference letter (headers, value hash and size, no value) and moves on', async () => {
      await setLimit(8_000);
      const events: ProcessorEvent[] = [];
      const resolved: string[] = [];
      await processorFor(events)([bigMessage('100')], {
        resolveOffset: (offset) => void resolved.push(offset),
        heartbeat: async () => undefined,
        isActive: () => true,
      });
      expect(resolved).toEqual(['100']);
      expect(events).toContainEqual({ type: 'dead-letter-refused', outcome: 'reference' });

      const letters: KafkaMessage[] = [];
      const reader = kafka.consumer({ groupId: `dlq-ref-reader-${prefix}` });
      await reader.connect();
      try {
        await reader.subscribe({ topics: [deadLetterTopic], fromBeginning: true });
        await reader.run({ eachMessage: async ({ message }) => void letters.push(message) });
        const header = (letter: KafkaMessage | undefined, name: string) =>
          letter?.headers?.[name]?.toString();
        await waitFor(
          'the reference letter arrived',
          () => letters.some((l) => header(l, DEAD_LETTER_HEADERS.sourceOffset) === '100'),
          { timeoutMs: 30_000 },
        );
        const letter = letters.find((l) => header(l, DEAD_LETTER_HEADERS.sourceOffset) === '100');
        expect(letter?.value).toBeNull();
        expect(letter?.key?.toString()).toBe('big-key');
        expect(header(letter, DEAD_LETTER_HEADERS.errorCode)).toBe('ELS_ERR_CONTRACT_NOT_JSON');
        expect(header(letter, DEAD_LETTER_HEADERS.sourcePartition)).toBe('7');
        expect(header(letter, REFERENCE_LETTER_HEADERS.valueBytes)).toBe('20000');
        expect(header(letter, REFERENCE_LETTER_HEADERS.valueSha256)).toBe(
          createHash('sha256').update(Buffer.alloc(20_000, 0xff)).digest('hex'),
        );
        expect(header(letter, REFERENCE_LETTER_HEADERS.refusal)).toBeTruthy();
      } finally {
        await reader.disconnect();
      }
    });

    it('stops the partition at the message, named in retry, when even the reference letter is refused', async () => {
      await setLimit(200);
      const events: ProcessorEvent[] = [];
      const tracker = createRetryTracker();
      const resolved: string[] = [];
      let active = true;
      const done = processorFor(events, tracker)([bigMessage('200')], {
        resolveOffset: (offset) => void resolved.push(offset),
        heartbeat: async () => undefined,
        isActive: () => active,
      });
      await waitFor(
        'the partition to be named in retry with ELS_ERR_DEAD_LETTER_REFUSED',
        () => tracker.list().some((m) => m.partition === 7 && m.code === 'ELS_ERR_DEAD_LETTER_REFUSED'),
        { timeoutMs: 30_000 },
      );
      active = false;
      await done;
      expect(resolved).toEqual([]);
      expect(events.filter((e) => e.type === 'dead-letter-refused')).toEqual([
        { type: 'dead-letter-refused', outcome: 'stopped' },
      ]);
    });
  });
});
