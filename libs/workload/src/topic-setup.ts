import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { INPUT_TOPICS, topicName } from '@els/contracts';

export interface InputTopicOptions {
  /**
   * `max.message.bytes` of topics this call creates. Above 1 MiB so that the generator's oversized
   * messages reach the worker (which must dead-letter them) instead of being refused by the broker.
   */
  maxMessageBytes?: number;
  replicationFactor?: number;
  /** How long to wait for every partition to have a leader. */
  timeoutMs?: number;
}

export interface InputTopicsResult {
  created: string[];
  existing: string[];
  /** Partition count of every input topic (prefixed name → count), as the broker reports it. */
  partitionCounts: Record<string, number>;
}

export const DEFAULT_INPUT_TOPIC_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

/**
 * Creates the three input topics under the prefix when missing. Idempotent and safe to run concurrently
 * with other creators: a topic that already exists counts as success (its settings are left alone).
 */
export async function ensureInputTopics(
  admin: Admin,
  prefix = '',
  partitions = 12,
  options: InputTopicOptions = {},
): Promise<InputTopicsResult> {
  const names = INPUT_TOPICS.map((base) => topicName(base, prefix));
  const present = new Set(await admin.listTopics());
  const missing = names.filter((name) => !present.has(name));
  if (missing.length > 0) {
    // Returns false when another creator won the race (TOPIC_ALREADY_EXISTS): that is success too.
    // The leaders are awaited below, not by kafkajs: its own wait fails at once when the broker's metadata
    // does not know a topic it has just created (UNKNOWN_TOPIC_OR_PARTITION, retriable).
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor: options.replicationFactor ?? 1,
        configEntries: [
          {
            name: 'max.message.bytes',
            value: String(options.maxMessageBytes ?? DEFAULT_INPUT_TOPIC_MAX_MESSAGE_BYTES),
          },
        ],
      })),
    });
  }
  const partitionCounts = await waitForPartitionLeaders(admin, names, options.timeoutMs ?? 30_000);
  return {
    created: missing,
    existing: names.filter((name) => present.has(name)),
    partitionCounts,
  };
}

/** Waits until every partition of the topics has a leader; returns their partition counts. */
export async function waitForPartitionLeaders(
  admin: Admin,
  topics: readonly string[],
  timeoutMs = 30_000,
): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const ready = metadata.topics.every(
        (topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0),
      );
      if (ready && metadata.topics.length === topics.length) {
        return Object.fromEntries(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
      }
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`Timed out after ${timeoutMs} ms waiting for leaders of ${topics.join(', ')}${reason}`);
}
