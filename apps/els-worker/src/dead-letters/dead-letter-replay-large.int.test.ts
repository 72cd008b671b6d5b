import { randomBytes, randomUUID } from 'node:crypto';
import { ERROR_CODES } from '@els/coordination';
import { TOPICS, topicName } from '@els/contracts';
import { TEST_KAFKA_BROKERS, uniqueKafkaNames, waitFor } from '@els/test-kit';
import type { Kafka } from 'kafkajs';
import { createEventProducer, type EventProducer } from '../kafka/event-producer';
import { createKafkaClient } from '../kafka/kafka-client';
import { ensureTopics } from '../kafka/topic-admin';
import { silentLogger } from '../logger';
import { replayDeadLetters } from './dead-letter-replay';
import { cursorGroupId, resolveReplayFilters } from './dead-letter-selection';

const { topicPrefix: prefix } = uniqueKafkaNames('replay-large');
const content = topicName(TOPICS.essayContentProvisioned, prefix);

/**
 * A letter above the consumer's default fetch size per partition (1 MiB): an input above
 * ELS_MAX_MESSAGE_BYTES is dead-lettered with its bytes (ELS_ERR_CONTRACT_TOO_LARGE), and the dead-letter
 * topic holds letters up to the input topics' limit plus headroom. The replay must read and replay it too.
 */
describe('replaying a dead letter larger than a default fetch', () => {
  let kafka: Kafka;
  let producer: EventProducer;
  const big = randomBytes(2 * 1024 * 1024 + 123);
  const small = Buffer.from('{"small":true}');

  beforeAll(async () => {
    kafka = createKafkaClient({
      brokers: [...TEST_KAFKA_BROKERS],
      clientId: `replay-large-${prefix}`,
      logger: silentLogger,
    });
    await ensureTopics(kafka, prefix, 12, silentLogger);
    producer = createEventProducer(kafka, prefix, silentLogger);
    await producer.start();
    const letter = (value: Buffer, partition: number) => ({
      message: {
        topic: content,
        partition,
        offset: String(partition),
        key: Buffer.from(`k${partition}`),
        value,
      },
      code: ERROR_CODES.contractTooLarge,
      reason: 'too large',
      eventId: randomUUID(),
    });
    // The big letter sits behind a small one on the same partition, so no fetch of that partition holds
    // both: the replay must resume behind what it handled instead of fetching it again.
    await producer.publishDeadLetters([letter(small, 1), letter(small, 2)]);
    await producer.publishDeadLetters([letter(big, 2), letter(small, 3)]);
  });

  afterAll(async () => {
    await producer?.stop();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
      await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  });

  it('reads, replays and finishes, also behind a smaller letter on its partition, and the large value arrives byte for byte', async () => {
    const resolved = resolveReplayFilters(
      { codes: [], sourceTopics: [], includeReplayed: false, fromBeginning: false, dryRun: false },
      prefix,
    );
    if (resolved.kind !== 'filters') throw new Error(resolved.message);
    const summary = await replayDeadLetters({
      kafka,
      topicPrefix: prefix,
      filters: resolved.filters,
      dryRun: false,
      fromBeginning: false,
      logger: silentLogger,
      stallTimeoutMs: 20_000,
    });
    expect(summary).toMatchObject({ replayed: 4 });

    const values: Buffer[] = [];
    const reader = kafka.consumer({
      groupId: `replay-large-reader-${randomUUID()}`,
      maxBytesPerPartition: 8 * 1024 * 1024,
    });
    await reader.connect();
    try {
      await reader.subscribe({ topics: [content], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => void (message.value && values.push(message.value)),
      });
      await waitFor('the four replayed records', () => values.length >= 4, { timeoutMs: 30_000 });
    } finally {
      await reader.disconnect();
    }
    expect(values.some((value) => value.equals(big))).toBe(true);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([cursorGroupId(resolved.filters)]).catch(() => undefined);
    await admin.disconnect();
  }, 120_000);
});
