import {
  COMPLETION_EVENT_MAX_BYTES,
  INPUT_TOPICS,
  OUTPUT_TOPICS,
  TOPICS,
  topicName,
  type BaseTopic,
} from '@els/contracts';
import { ConfigResourceTypes, ConfigSource, type Admin, type Kafka } from 'kafkajs';
import type { Logger } from '../logger';

export interface TopicPlan {
  topic: string;
  partitions: number;
  /** The least `max.message.bytes` the topic must have; absent: the broker default is enough. */
  maxMessageBytes?: number;
}

/**
 * Input topics accept messages up to 4 MiB, well above ELS_MAX_MESSAGE_BYTES (1 MiB by default): an
 * oversized message must reach the worker to be dead-lettered with its original bytes, not be refused at
 * the producer where nobody would see it.
 */
export const INPUT_TOPIC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * What a dead letter adds to the original record: the `x-els-*` headers (bounded by event-producer to
 * about 1.4 KiB) and record framing. The dead-letter topic accepts the largest input topic's limit plus
 * this, so every record an input topic accepted fits as a dead letter.
 */
export const DEAD_LETTER_HEADROOM_BYTES = 64 * 1024;

/**
 * The completion topic accepts the largest completion a registration may produce (COMPLETION_EVENT_MAX_BYTES,
 * enforced at registration) plus record framing and gzip's worst-case growth on incompressible data
 * (about 0.03 %, 5 KiB at 16 MiB).
 */
export const COMPLETION_TOPIC_MAX_MESSAGE_BYTES = COMPLETION_EVENT_MAX_BYTES + 64 * 1024;

export interface EnsureTopicsResult {
  created: string[];
  grown: string[];
  /** Existing topics whose `max.message.bytes` was raised to the plan. */
  raised: string[];
}

const OUTPUT_TOPIC_PARTITIONS = 12;
const MAX_MESSAGE_BYTES = 'max.message.bytes';

/**
 * Output topics whose events grow with the size of a batch (a completion lists every essay): created
 * with their own limit, and published compressed in a request of their own.
 */
export const LARGE_EVENT_TOPICS: ReadonlySet<string> = new Set([TOPICS.batchContentProvisioningCompleted]);

/**
 * Input topics get `inputPartitions` (at least 12) partitions; outputs and dead letters 12. The
 * dead-letter limit planned here assumes input topics at their planned limit; `ensureTopics` raises it
 * further when an input topic already accepts more.
 */
export function topicPlan(prefix: string, inputPartitions: number): TopicPlan[] {
  const limitOf = (base: BaseTopic): number | undefined => {
    if (base === TOPICS.deadLetter) return INPUT_TOPIC_MAX_MESSAGE_BYTES + DEAD_LETTER_HEADROOM_BYTES;
    if (LARGE_EVENT_TOPICS.has(base)) return COMPLETION_TOPIC_MAX_MESSAGE_BYTES;
    return undefined;
  };
  return [
    ...INPUT_TOPICS.map((base) => ({
      topic: topicName(base, prefix),
      partitions: Math.max(12, inputPartitions),
      maxMessageBytes: INPUT_TOPIC_MAX_MESSAGE_BYTES,
    })),
    ...OUTPUT_TOPICS.map((base) => {
      const maxMessageBytes = limitOf(base);
      return {
        topic: topicName(base, prefix),
        partitions: OUTPUT_TOPIC_PARTITIONS,
        ...(maxMessageBytes ? { maxMessageBytes } : {}),
      };
    }),
  ];
}

function errorType(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

const METADATA_SETTLE_TIMEOUT_MS = 30_000;

const isRetriable = (error: unknown) => (error as { retriable?: unknown } | null)?.retriable === true;

/**
 * `operation`'s answer, waiting out retriable Kafka errors for up to `timeoutMs` (200 ms apart); any other
 * error is thrown at once. For admin reads that kafkajs gives up on at the first refusal although the
 * broker only needs a moment: offsets of a partition whose leader the broker's metadata already names but
 * that has not taken leadership yet (`NOT_LEADER_OR_FOLLOWER` right after a topic is created or a broker
 * restarts).
 */
export async function whileRetriable<T>(
  what: string,
  operation: () => Promise<T>,
  timeoutMs = METADATA_SETTLE_TIMEOUT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      if (Date.now() >= deadline) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${what} still refused after ${timeoutMs} ms: ${message}`, { cause: error });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The topics' metadata once the broker knows every one of them and every partition has a leader. Retriable
 * errors (a topic created a moment ago and not yet in the broker's metadata, a leader being elected) are
 * waited out up to METADATA_SETTLE_TIMEOUT_MS; any other error is thrown at once.
 */
export async function settledMetadata(
  admin: Pick<Admin, 'fetchTopicMetadata'>,
  topics: readonly string[],
  timeoutMs = METADATA_SETTLE_TIMEOUT_MS,
): Promise<Awaited<ReturnType<Admin['fetchTopicMetadata']>>> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
      const settled =
        metadata.topics.length === topics.length &&
        metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (settled) return metadata;
      last = 'a partition without a leader';
    } catch (error) {
      if (!isRetriable(error)) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`metadata of ${topics.join(', ')} did not settle within ${timeoutMs} ms: ${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Creates every topic the worker reads or writes, grows input topics that have fewer partitions than
 * planned, and raises `max.message.bytes` of topics that already existed with less than planned (never
 * lowers it). The dead-letter topic ends at the largest input topic's limit, as read back from the
 * broker, plus DEAD_LETTER_HEADROOM_BYTES. Idempotent and safe to run from several processes at once:
 * "already exists" and "already has that many partitions" from a concurrent run count as success,
 * concurrent raises write the same values, and the final state is re-read.
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
        // Leaders are awaited by settledMetadata, not by kafkajs, whose wait fails at once when the
        // broker's metadata does not know a topic it has just created (UNKNOWN_TOPIC_OR_PARTITION).
        await admin.createTopics({
          waitForLeaders: false,
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
    const metadata = await settledMetadata(
      admin,
      plan.map((entry) => entry.topic),
    );
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
    const final = await settledMetadata(
      admin,
      plan.map((entry) => entry.topic),
    );
    for (const entry of plan) {
      const topic = final.topics.find((candidate) => candidate.name === entry.topic);
      if (!topic || topic.partitions.length < entry.partitions) {
        throw new Error(
          `topic ${entry.topic} has ${topic?.partitions.length ?? 0} partitions, expected ${entry.partitions}`,
        );
      }
    }
    const raised = await raiseMessageLimits(admin, plan, prefix);
    logger.info({ created, grown, raised, topics: plan.length }, 'Topics ensured');
    return { created, grown, raised };
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

type TopicConfigs = Map<
  string,
  { maxMessageBytes: number; overrides: Array<{ name: string; value: string }> }
>;

/** Each topic's effective `max.message.bytes` and the configs set on the topic itself (not defaults). */
export async function describeTopicConfigs(admin: Admin, topics: readonly string[]): Promise<TopicConfigs> {
  const response = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const configs: TopicConfigs = new Map();
  for (const resource of response.resources) {
    if (resource.errorCode !== 0) {
      throw new Error(
        `describing the configs of topic ${resource.resourceName} failed: ${resource.errorMessage}`,
      );
    }
    const limit = resource.configEntries.find((entry) => entry.configName === MAX_MESSAGE_BYTES);
    const overrides = resource.configEntries
      .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG)
      .map((entry) => {
        if (entry.isSensitive || entry.configValue === null) {
          throw new Error(
            `topic ${resource.resourceName} has a sensitive config ${entry.configName} that cannot be kept while altering it`,
          );
        }
        return { name: entry.configName, value: entry.configValue };
      });
    configs.set(resource.resourceName, { maxMessageBytes: Number(limit?.configValue ?? 0), overrides });
  }
  return configs;
}

/**
 * The least `max.message.bytes` each topic must have: the plan's, and for the dead-letter topic the
 * largest input topic's limit (what the broker reports, or the plan's when that is more, since inputs
 * are raised in the same request) plus the header headroom.
 */
function requiredLimits(
  plan: readonly TopicPlan[],
  prefix: string,
  current: TopicConfigs,
): Map<string, number> {
  const inputs = INPUT_TOPICS.map((base) => topicName(base, prefix));
  const deadLetter = topicName(TOPICS.deadLetter, prefix);
  const largestInput = Math.max(
    INPUT_TOPIC_MAX_MESSAGE_BYTES,
    ...inputs.map((topic) => current.get(topic)?.maxMessageBytes ?? 0),
  );
  const required = new Map<string, number>();
  for (const entry of plan) {
    const limit =
      entry.topic === deadLetter ? largestInput + DEAD_LETTER_HEADROOM_BYTES : entry.maxMessageBytes;
    if (limit !== undefined) required.set(entry.topic, limit);
  }
  return required;
}

const CONFIG_PROPAGATION_TIMEOUT_MS = 30_000;

/**
 * Raises `max.message.bytes` where a topic has less than required; never lowers it. Kafka's
 * AlterConfigs (the only config API kafkajs speaks) replaces the whole set of configs of a topic, so the
 * request carries every config already set on the topic with only the limit changed; configs left at
 * their defaults stay defaults. Returns the topics raised, once the broker reports the new limits.
 */
async function raiseMessageLimits(
  admin: Admin,
  plan: readonly TopicPlan[],
  prefix: string,
): Promise<string[]> {
  const current = await describeTopicConfigs(
    admin,
    plan.map((entry) => entry.topic),
  );
  const required = requiredLimits(plan, prefix, current);
  const below = [...required].filter(([topic, limit]) => (current.get(topic)?.maxMessageBytes ?? 0) < limit);
  if (below.length === 0) return [];
  await admin.alterConfigs({
    validateOnly: false,
    resources: below.map(([topic, limit]) => ({
      type: ConfigResourceTypes.TOPIC,
      name: topic,
      configEntries: [
        ...(current.get(topic)?.overrides ?? []).filter((entry) => entry.name !== MAX_MESSAGE_BYTES),
        { name: MAX_MESSAGE_BYTES, value: String(limit) },
      ],
    })),
  });
  await waitForLimits(admin, new Map(below));
  return below.map(([topic]) => topic);
}

/** Re-reads until the broker reports at least the limits just written (config changes apply asynchronously). */
async function waitForLimits(admin: Admin, limits: ReadonlyMap<string, number>): Promise<void> {
  const deadline = Date.now() + CONFIG_PROPAGATION_TIMEOUT_MS;
  for (;;) {
    const current = await describeTopicConfigs(admin, [...limits.keys()]);
    const pending = [...limits].filter(
      ([topic, limit]) => (current.get(topic)?.maxMessageBytes ?? 0) < limit,
    );
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `topics ${pending.map(([topic]) => topic).join(', ')} still report a smaller max.message.bytes than written`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
