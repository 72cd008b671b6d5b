import { INPUT_TOPICS, OUTPUT_TOPICS, TOPICS, topicName } from '@els/contracts';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../logger';

export interface TopicPlan {
  topic: string;
  partitions: number;
  maxMessageBytes?: number;
}

/**
 * Input and dead-letter topics accept messages up to 4 MiB, well above ELS_MAX_MESSAGE_BYTES (1 MiB by
 * default): an oversized message must reach the worker to be dead-lettered with its original bytes,
 * not be refused at the producer where nobody would see it. The completion topic accepts as much: a
 * completion event lists every essay of its batch (about 1.1 MB for 10,000 essays with UUID-sized ids
 * before compression), and a refused one would never be announced.
 */
export const OVERSIZE_TOLERANT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface EnsureTopicsResult {
  created: string[];
  grown: string[];
}

const OUTPUT_TOPIC_PARTITIONS = 12;

/**
 * Output topics whose events grow with the size of a batch (a completion lists every essay): created
 * with the oversize-tolerant limit, and published compressed in a request of their own.
 */
export const LARGE_EVENT_TOPICS: ReadonlySet<string> = new Set([TOPICS.batchContentProvisioningCompleted]);

/** Input topics get `inputPartitions` (at least 12) partitions; outputs and dead letters 12. */
export function topicPlan(prefix: string, inputPartitions: number): TopicPlan[] {
  return [
    ...INPUT_TOPICS.map((base) => ({
      topic: topicName(base, prefix),
      partitions: Math.max(12, inputPartitions),
      maxMessageBytes: OVERSIZE_TOLERANT_MAX_MESSAGE_BYTES,
    })),
    ...OUTPUT_TOPICS.map((base) => ({
      topic: topicName(base, prefix),
      partitions: OUTPUT_TOPIC_PARTITIONS,
      ...(base === TOPICS.deadLetter || LARGE_EVENT_TOPICS.has(base)
        ? { maxMessageBytes: OVERSIZE_TOLERANT_MAX_MESSAGE_BYTES }
        : {}),
    })),
  ];
}

function errorType(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

/**
 * Creates every topic the worker reads or writes and grows input topics that have fewer partitions than
 * planned. Idempotent and safe to run from several processes at once: "already exists" and "already has
 * that many partitions" from a concurrent run count as success, and the final state is re-read.
 */
export async function ensureTopics(
  kafka: Kafka,
  prefix: string,
  inputPartitions: number,
  logger: Logger,
): Promise<EnsureTopicsResult> {
  const plan = topicPlan(prefix, inputPartitions);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = plan.filter((entry) => !existing.has(entry.topic));
    const created: string[] = [];
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((entry) => ({
            topic: entry.topic,
            numPartitions: entry.partitions,
            replicationFactor: 1,
            ...(entry.maxMessageBytes
              ? { configEntries: [{ name: 'max.message.bytes', value: String(entry.maxMessageBytes) }] }
              : {}),
          })),
        });
      } catch (error) {
        if (!isOnlyAlreadyExists(error)) throw error;
      }
      created.push(...missing.map((entry) => entry.topic));
    }
    const metadata = await admin.fetchTopicMetadata({ topics: plan.map((entry) => entry.topic) });
    const counts = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
    const grown: string[] = [];
    for (const entry of plan) {
      const current = counts.get(entry.topic) ?? 0;
      if (current >= entry.partitions) continue;
      try {
        await admin.createPartitions({ topicPartitions: [{ topic: entry.topic, count: entry.partitions }] });
      } catch (error) {
        // A concurrent run grew it first; the re-read below decides.
        if (errorType(error) !== 'INVALID_PARTITIONS') throw error;
      }
      grown.push(entry.topic);
    }
    const final = await admin.fetchTopicMetadata({ topics: plan.map((entry) => entry.topic) });
    for (const entry of plan) {
      const topic = final.topics.find((candidate) => candidate.name === entry.topic);
      if (!topic || topic.partitions.length < entry.partitions) {
        throw new Error(
          `topic ${entry.topic} has ${topic?.partitions.length ?? 0} partitions, expected ${entry.partitions}`,
        );
      }
    }
    logger.info({ created, grown, topics: plan.length }, 'Topics ensured');
    return { created, grown };
  } finally {
    await admin.disconnect();
  }
}

function isOnlyAlreadyExists(error: unknown): boolean {
  if (errorType(error) === 'TOPIC_ALREADY_EXISTS') return true;
  const nested = (error as { errors?: unknown } | null)?.errors;
  return (
    Array.isArray(nested) && nested.length > 0 && nested.every((e) => errorType(e) === 'TOPIC_ALREADY_EXISTS')
  );
}
