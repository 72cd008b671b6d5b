import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { logLevel, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { INPUT_TOPICS, parseEnvelope, topicName } from '@els/contracts';
import { createGeneratorKafka, createGeneratorProducer } from './kafka-client';
import { openRunOutput, SUMMARY_FILE } from './run-output';
import { readSentLog } from './sent-log';
import { ensureInputTopics } from './topic-setup';
import { DEFAULT_PRODUCE_OPTIONS, produceWorkload } from './workload-producer';
import { resolveWorkloadOptions } from './workload-options';
import { waitFor } from '@els/test-kit';

const brokers = (process.env['ELS_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const suffix = randomUUID().slice(0, 8);
const prefix = `gen-int-${suffix}.`;
const topics = INPUT_TOPICS.map((base) => topicName(base, prefix));
const plainPrefix = `gen-int-plain-${suffix}.`;
const plainTopics = INPUT_TOPICS.map((base) => topicName(base, plainPrefix));

describe('workload producer against the real broker', () => {
  const kafka = createGeneratorKafka({ brokers, clientId: `gen-int-${suffix}`, logLevel: logLevel.NOTHING });
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer | undefined;
  let dir: string;

  beforeAll(async () => {
    admin = kafka.admin();
    producer = createGeneratorProducer(kafka);
    await admin.connect();
    await producer.connect();
    dir = await mkdtemp(join(tmpdir(), 'event-generator-'));
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [...topics, ...plainTopics] }).catch(() => undefined);
    await admin.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the input topics idempotently', async () => {
    const first = await ensureInputTopics(admin, prefix, 12);
    const second = await ensureInputTopics(admin, prefix, 12);
    expect(first.created.sort()).toEqual([...topics].sort());
    expect(second).toMatchObject({ created: [] });
    expect(second.existing.sort()).toEqual([...topics].sort());
    expect(Object.values(second.partitionCounts)).toEqual([12, 12, 12]);
  });

  it('produces a plan that reads back complete, at the logged partitions and offsets, good events parsing', async () => {
    const { partitionCounts } = await ensureInputTopics(admin, prefix, 12);
    const workload = resolveWorkloadOptions({
      batches: 2,
      slots: 5,
      duplicateRatio: 0.4,
      duplicateConcurrency: 3,
      validationFailures: 1,
      beforeRegistration: 0.4,
      malformed: 6,
      seed: 99,
      runId: `int-${suffix}`,
    });
    const output = await openRunOutput(dir);
    const result = await produceWorkload(
      workload,
      { ...DEFAULT_PRODUCE_OPTIONS, topicPrefix: prefix, chunkSize: 7 },
      { producer, partitionCounts, sentLog: output.sentLog },
    );
    await output.finish(result);

    const sent = await readSentLog(output.sentLogPath);
    expect(result.summary).toMatchObject({ planned: sent.length, sent: sent.length, rejected: 0, waves: 1 });
    expect(result.summary.byKind).toMatchObject({
      registration: 2,
      content: 10,
      duplicate: 8,
      malformed: 12,
    });
    expect(sent.map((line) => line.seq)).toEqual(sent.map((_, i) => i + 1));
    const summaryFile = JSON.parse(await readFile(join(dir, SUMMARY_FILE), 'utf8')) as { sent: number };
    expect(summaryFile.sent).toBe(sent.length);

    const received: Array<{ topic: string; partition: number; message: KafkaMessage }> = [];
    consumer = kafka.consumer({ groupId: `gen-int-${suffix}` });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        received.push({ topic, partition, message });
      },
    });
    await waitFor(`${sent.length} messages are read back`, () => received.length >= sent.length, {
      timeoutMs: 30_000,
    });

    expect(received).toHaveLength(sent.length);
    const byKey = new Map(sent.map((line) => [line.key, line]));
    expect(byKey.size).toBe(sent.length);
    for (const { topic, partition, message } of received) {
      const line = byKey.get(message.key?.toString() ?? '');
      expect(line).toBeDefined();
      if (!line) continue;
      expect({ topic, partition, offset: message.offset }).toEqual({
        topic: line.topic,
        partition: line.partition,
        offset: line.offset,
      });
      expect(line.attempts).toBe(1);
      expect(message.value?.length).toBe(line.valueBytes);
      expect(
        createHash('sha256')
          .update(message.value ?? Buffer.alloc(0))
          .digest('hex'),
      ).toBe(line.valueSha256);
      const parsed = parseEnvelope(message.value, topic);
      expect({ kind: line.kind, ok: parsed.ok }).toEqual({ kind: line.kind, ok: line.kind !== 'malformed' });
      if (!parsed.ok) continue;
      const { envelope } = parsed.event;
      expect(envelope.event_id).toBe(line.eventId);
      expect(line.correlationId).toBe(envelope.correlation_id);
      expect({ traceparent: line.traceparent, tracestate: line.tracestate }).toEqual({
        traceparent: envelope.metadata?.['traceparent'],
        tracestate: envelope.metadata?.['tracestate'] ?? null,
      });
      expect(line.traceparent).toEqual(expect.any(String));
      const data = envelope.data as Record<string, unknown>;
      const text = line.kind === 'content' || line.kind === 'duplicate';
      const registration = line.kind === 'registration' || line.kind === 'registration-redelivery';
      expect({
        originalFileName: line.originalFileName,
        courseCode: line.courseCode,
        userId: line.userId,
      }).toEqual({
        originalFileName: text ? data['original_file_name'] : null,
        courseCode: registration ? data['course_code'] : null,
        userId: registration ? data['user_id'] : null,
      });
    }
    const contentPartitions = new Set(received.filter((r) => r.topic === topics[1]).map((r) => r.partition));
    expect(contentPartitions.size).toBeGreaterThanOrEqual(3);
  });

  it('records an oversized message the broker refuses as rejected and carries on', async () => {
    // Topics with the broker's default max.message.bytes (about 1 MiB), as another tool might create them.
    await admin.createTopics({
      waitForLeaders: true,
      topics: plainTopics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    });
    const partitionCounts = Object.fromEntries(plainTopics.map((topic) => [topic, 3]));
    const workload = resolveWorkloadOptions({ batches: 6, slots: 1, malformed: 1, runId: `plain-${suffix}` });
    const result = await produceWorkload(
      workload,
      { ...DEFAULT_PRODUCE_OPTIONS, topicPrefix: plainPrefix, retryForMs: 5_000 },
      { producer, partitionCounts },
    );
    expect(result.summary).toMatchObject({ planned: 18, sent: 17, rejected: 1 });
    expect(result.summary.byKind).toMatchObject({ registration: 6, content: 6, malformed: 5 });

    // The idempotent producer keeps working on the same partitions after the refusal.
    const again = await produceWorkload(
      resolveWorkloadOptions({ batches: 3, slots: 4, runId: `plain-again-${suffix}` }),
      { ...DEFAULT_PRODUCE_OPTIONS, topicPrefix: plainPrefix, retryForMs: 5_000 },
      { producer, partitionCounts },
    );
    expect(again.summary).toMatchObject({ planned: 15, sent: 15, rejected: 0 });
  });

  it("with a registration lead, sends each wave's registrations first and its texts after the pause", async () => {
    const { partitionCounts } = await ensureInputTopics(admin, prefix, 12);
    const workload = resolveWorkloadOptions({
      batches: 3,
      slots: 4,
      registrationRedeliveries: 1,
      runId: `lead-${suffix}`,
    });
    const output = await openRunOutput(join(dir, 'lead'));
    const result = await produceWorkload(
      workload,
      { ...DEFAULT_PRODUCE_OPTIONS, topicPrefix: prefix, waves: 2, registrationLeadMs: 300 },
      { producer, partitionCounts, sentLog: output.sentLog },
    );
    await output.finish(result);
    const sent = await readSentLog(output.sentLogPath);
    expect(result.summary.byKind).toMatchObject({
      registration: 6,
      'registration-redelivery': 6,
      content: 24,
    });
    for (const wave of [0, 1]) {
      const ofWave = sent.filter((line) => line.batchId.includes(`-w${wave}-`));
      const firstOther = ofWave.findIndex((line) => line.kind !== 'registration');
      expect(ofWave.slice(0, firstOther).map((line) => line.kind)).toEqual(new Array(3).fill('registration'));
      expect(ofWave.slice(firstOther).some((line) => line.kind === 'registration')).toBe(false);
      const lastRegistration = ofWave[firstOther - 1];
      expect((ofWave[firstOther]?.sentAtMs ?? 0) - (lastRegistration?.ackedAtMs ?? 0)).toBeGreaterThanOrEqual(
        290,
      );
    }
    await expect(
      produceWorkload(
        resolveWorkloadOptions({ beforeRegistration: 0.5, runId: `lead-bad-${suffix}` }),
        { ...DEFAULT_PRODUCE_OPTIONS, topicPrefix: prefix, registrationLeadMs: 300 },
        { producer, partitionCounts },
      ),
    ).rejects.toThrow(/cannot be combined with beforeRegistration/);
  });
});
