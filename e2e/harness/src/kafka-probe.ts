import { OUTPUT_TOPICS, TOPICS, baseTopicOf, topicName, type BaseTopic } from '@els/contracts';
import { waitFor } from '@els/test-kit';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { KAFKA_BROKERS } from './paths';

/** One message read back from an output topic (slot assigned, excess, completion, dead letter). */
export interface ObservedMessage {
  topic: BaseTopic;
  partition: number;
  offset: string;
  key: string | null;
  /** Parsed JSON envelope (dead letters keep their raw bytes in `raw` and may not parse). */
  value: Record<string, unknown> | undefined;
  raw: Buffer;
  headers: Record<string, string>;
  /** Producer timestamp of the record (the relay's publish time), ms since epoch. */
  timestampMs: number;
  /** When this process read it. */
  receivedAtMs: number;
}

export interface OutputCollector {
  readonly messages: readonly ObservedMessage[];
  of(topic: BaseTopic): ObservedMessage[];
  /** Resolves once the collector's consumer has joined its group and been assigned its partitions. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

export function createTestKafka(clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { initialRetryTime: 300, retries: 30, maxRetryTime: 5000 },
  });
}

/** A record value parsed as JSON, or undefined when it is not JSON (dead letters keep any bytes). */
function jsonObjectOf(raw: Buffer | null): Record<string, unknown> | undefined {
  try {
    return JSON.parse(raw?.toString('utf8') ?? '') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function headerStrings(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null) out[name] = String(value);
  }
  return out;
}

/**
 * Reads every output topic under the prefix from the beginning, in its own consumer group, and keeps
 * every message in memory for the checker.
 */
export async function createOutputCollector(kafka: Kafka, topicPrefix: string): Promise<OutputCollector> {
  const messages: ObservedMessage[] = [];
  let stopped = false;
  const consumer: Consumer = kafka.consumer({
    groupId: `${topicPrefix}checker`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    // A crash during a broker outage restarts the consumer, but never once the collector is stopped: a
    // restart left running would outlive its test.
    retry: { retries: 30, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => !stopped },
  });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  await consumer.subscribe({
    topics: OUTPUT_TOPICS.map((base) => topicName(base, topicPrefix)),
    fromBeginning: true,
  });
  // A consumer restarted after a broker outage reads again from its last committed offset (from the
  // beginning, before its first commit): a record already collected is the same record, not a new one.
  const seen = new Set<string>();
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const position = `${topic}/${partition}/${message.offset}`;
      if (seen.has(position)) return;
      seen.add(position);
      const raw = message.value ?? Buffer.alloc(0);
      const value = jsonObjectOf(raw);
      messages.push({
        topic: baseTopicOf(topic, topicPrefix) ?? (topic as BaseTopic),
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value,
        raw,
        headers: headerStrings(message.headers as Record<string, unknown> | undefined),
        timestampMs: Number(message.timestamp),
        receivedAtMs: Date.now(),
      });
    },
  });
  return {
    messages,
    of: (topic) => messages.filter((message) => message.topic === topic),
    ready: async () => {
      await waitFor('the output collector to join its group', () => joined, { timeoutMs: 60_000 });
    },
    stop: async () => {
      stopped = true;
      await consumer.disconnect();
    },
  };
}

/**
 * Reads one topic from the beginning in a throw-away group until `expected` records arrived (or the
 * timeout passed), for measurements taken after a run: record timestamps are the producer's, so reading
 * late does not change them.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  expected: number,
  timeoutMs = 60_000,
): Promise<Array<{ value: Record<string, unknown> | undefined; timestampMs: number }>> {
  const records: Array<{ value: Record<string, unknown> | undefined; timestampMs: number }> = [];
  if (expected <= 0) return records;
  const consumer = kafka.consumer({ groupId: `${topic}.reader.${process.pid}.${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        records.push({ value: jsonObjectOf(message.value), timestampMs: Number(message.timestamp) });
      },
    });
    await waitFor(`${expected} records on ${topic}`, () => records.length >= expected, {
      timeoutMs,
      intervalMs: 100,
    });
    return records;
  } finally {
    await consumer.disconnect();
  }
}

/** A plain producer for hand-made messages (explicit partitions, raw bytes). */
export async function createRawProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  return producer;
}

/** Committed offset of each partition of a topic for a group (-1 when none). */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** End offset (next offset to be written) of each partition of a topic. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Messages of a topic not yet covered by the group's committed offsets (a partition that never received a
 * message, or has no committed offset yet, counts from 0).
 */
export async function uncommittedMessages(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([
    endOffsets(kafka, topic),
    committedOffsets(kafka, groupId, topic),
  ]);
  let behind = 0;
  for (const [partition, end] of ends)
    behind += Math.max(0, end - Math.max(0, committed.get(partition) ?? 0));
  return behind;
}

/** Deletes every topic under the prefix (test clean-up; best effort). */
export async function deleteTopicsWithPrefix(kafka: Kafka, topicPrefix: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(topicPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } catch {
    // clean-up only
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export const OUTPUT = {
  assigned: TOPICS.essaySlotAssigned,
  excess: TOPICS.excessContentProvisioned,
  completed: TOPICS.batchContentProvisioningCompleted,
  deadLetter: TOPICS.deadLetter,
} as const;

/** Partition count of each output topic that exists under the prefix (the partitioner's modulus). */
export async function outputPartitionCounts(
  kafka: Kafka,
  topicPrefix: string,
): Promise<Partial<Record<BaseTopic, number>>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({
      topics: OUTPUT_TOPICS.map((topic) => topicName(topic, topicPrefix)),
    });
    const counts: Partial<Record<BaseTopic, number>> = {};
    for (const topic of topics) {
      const base = baseTopicOf(topic.name, topicPrefix);
      if (base) counts[base] = topic.partitions.length;
    }
    return counts;
  } finally {
    await admin.disconnect();
  }
}
