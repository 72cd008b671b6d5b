import { OUTPUT_TOPICS, TOPICS, topicName } from '@els/contracts';
import { ConfigResourceTypes, ConfigSource, type Admin, type Kafka } from 'kafkajs';

/**
 * The `kafka-produce-refusal` fault: the broker refuses every produce request to the run's outbox topics
 * while fetches go on, so the relays' publishes fail while the replicas keep consuming, writing and
 * committing: the path where a relay must put the rows whose publish failed back for a later pass.
 *
 * How: the topics' `max.message.bytes` is set below the smallest record batch (a batch has 61 bytes of
 * header), so every produce to them fails with MESSAGE_TOO_LARGE, a refusal the client does not retry;
 * reads, and produce requests to every other topic (the generator's inputs), are untouched. The issue
 * asked for NOT_ENOUGH_REPLICAS through `min.insync.replicas` above the replicas in sync, which this single
 * broker cannot give: Kafka 4.1 caps the minimum in-sync replicas at the replication factor
 * (`Partition.effectiveMinIsr`), so with `min.insync.replicas=2` on a one-replica topic an acks=all
 * produce still succeeds (measured: 7 ms). A refusal the client retries would not reach the relay's
 * failure path in a few seconds either: kafkajs retries it for about 39 s (the worker's 8 retries from
 * 300 ms, capped at 10 s) in the background of a publish the relay timed out after 5 s, and lands it once
 * the refusal ends.
 *
 * The dead-letter topic is left alone: the worker takes MESSAGE_TOO_LARGE from it for a permanent refusal
 * of that letter and writes a reference letter instead (the design for a letter too large to keep), so a
 * transient refusal there would turn a correct worker's letters into references; scenario 7 expects no
 * letters at all.
 *
 * Kafka's AlterConfigs replaces a topic's whole set of configs: each change carries the overrides the
 * topic had, and the reset writes them back as they were. A replica that starts during the fault raises
 * `max.message.bytes` on the topics it requires a limit for (the completion topic) as it always does,
 * which ends the refusal there early.
 */

/** Below any record batch (61 bytes of header before the first record). */
export const REFUSING_MAX_MESSAGE_BYTES = '1';
const MAX_MESSAGE_BYTES = 'max.message.bytes';
const PROPAGATION_TIMEOUT_MS = 30_000;

/** The topics a produce refusal covers: the worker's outputs but the dead-letter topic. */
export function refusedTopics(topicPrefix: string): string[] {
  return OUTPUT_TOPICS.filter((base) => base !== TOPICS.deadLetter).map((base) =>
    topicName(base, topicPrefix),
  );
}

export interface KafkaFaults {
  readonly topics: readonly string[];
  /** Makes the broker refuse produce requests to the topics; returns once it reports the change. */
  refuseProduce(): Promise<void>;
  /** Writes the topics' configs back as they were before `refuseProduce`. */
  allowProduce(): Promise<void>;
  /** Undoes a refusal left behind by an interrupted fault; returns whether there was one. */
  heal(): Promise<boolean>;
}

type Overrides = Map<string, Array<{ name: string; value: string }>>;

async function withAdmin<T>(kafka: Kafka, action: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await action(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Each topic's configs set on the topic itself, and its effective `max.message.bytes`. */
async function describe(
  admin: Admin,
  topics: readonly string[],
): Promise<{ overrides: Overrides; limits: Map<string, string> }> {
  const response = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const overrides: Overrides = new Map();
  const limits = new Map<string, string>();
  for (const resource of response.resources) {
    if (resource.errorCode !== 0) {
      throw new Error(`describing topic ${resource.resourceName} failed: ${resource.errorMessage}`);
    }
    overrides.set(
      resource.resourceName,
      resource.configEntries
        .filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG && entry.configValue !== null)
        .map((entry) => ({ name: entry.configName, value: entry.configValue as string })),
    );
    const limit = resource.configEntries.find((entry) => entry.configName === MAX_MESSAGE_BYTES);
    limits.set(resource.resourceName, limit?.configValue ?? '');
  }
  return { overrides, limits };
}

async function alter(admin: Admin, configs: Overrides): Promise<void> {
  await admin.alterConfigs({
    validateOnly: false,
    resources: [...configs].map(([name, configEntries]) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configEntries,
    })),
  });
}

/** Re-reads until every topic reports `wanted(topic)` as its limit (config changes apply asynchronously). */
async function waitForLimits(
  admin: Admin,
  topics: readonly string[],
  matches: (topic: string, limit: string) => boolean,
): Promise<void> {
  const deadline = Date.now() + PROPAGATION_TIMEOUT_MS;
  for (;;) {
    const { limits } = await describe(admin, topics);
    if (topics.every((topic) => matches(topic, limits.get(topic) ?? ''))) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} did not take the config change`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function createKafkaFaults(options: { kafka: Kafka; topicPrefix: string }): KafkaFaults {
  const topics = refusedTopics(options.topicPrefix);
  /** The overrides before the refusal, and the limits they gave; set while a refusal is in place. */
  let saved: { overrides: Overrides; limits: Map<string, string> } | undefined;

  const faults: KafkaFaults = {
    topics,
    async refuseProduce() {
      await withAdmin(options.kafka, async (admin) => {
        const before = await describe(admin, topics);
        // Kept before the change: a change that fails half-way is still undone by `allowProduce`.
        saved ??= before;
        const refusing: Overrides = new Map(
          topics.map((topic) => [
            topic,
            [
              ...(before.overrides.get(topic) ?? []).filter((entry) => entry.name !== MAX_MESSAGE_BYTES),
              { name: MAX_MESSAGE_BYTES, value: REFUSING_MAX_MESSAGE_BYTES },
            ],
          ]),
        );
        await alter(admin, refusing);
        await waitForLimits(admin, topics, (_, limit) => limit === REFUSING_MAX_MESSAGE_BYTES);
      });
    },
    async allowProduce() {
      const before = saved;
      if (!before) return;
      await withAdmin(options.kafka, async (admin) => {
        await alter(admin, before.overrides);
        await waitForLimits(admin, topics, (topic, limit) => limit !== REFUSING_MAX_MESSAGE_BYTES);
      });
      saved = undefined;
    },
    async heal() {
      if (!saved) return false;
      await faults.allowProduce();
      return true;
    },
  };
  return faults;
}
