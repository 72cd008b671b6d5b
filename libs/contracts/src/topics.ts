/** Base topic names, exactly as the Python services use them. A prefix (config) may be prepended. */
export const TOPICS = {
  batchEssaysRegistered: 'huleedu.batch.essays.registered.v1',
  essayContentProvisioned: 'huleedu.file.essay.content.provisioned.v1',
  essayValidationFailed: 'huleedu.file.essay.validation.failed.v1',
  essaySlotAssigned: 'huleedu.els.essay.slot.assigned.v1',
  excessContentProvisioned: 'huleedu.els.excess.content.provisioned.v1',
  batchContentProvisioningCompleted: 'huleedu.batch.content.provisioning.completed.v1',
  deadLetter: 'huleedu.els.dead.letter.v1',
} as const;

export type TopicKey = keyof typeof TOPICS;
export type BaseTopic = (typeof TOPICS)[TopicKey];

/** Topics the worker consumes. */
export const INPUT_TOPICS: readonly BaseTopic[] = [
  TOPICS.batchEssaysRegistered,
  TOPICS.essayContentProvisioned,
  TOPICS.essayValidationFailed,
];

/** Topics the worker produces (through the outbox, or directly for dead letters). */
export const OUTPUT_TOPICS: readonly BaseTopic[] = [
  TOPICS.essaySlotAssigned,
  TOPICS.excessContentProvisioned,
  TOPICS.batchContentProvisioningCompleted,
  TOPICS.deadLetter,
];

const PREFIX_PATTERN = /^[a-zA-Z0-9._-]*$/;

/** The Kafka topic name for a base topic under an optional isolation prefix (`ELS_TOPIC_PREFIX`). */
export function topicName(base: BaseTopic, prefix = ''): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new RangeError(`topic prefix "${prefix}" may only contain letters, digits, '.', '_' and '-'`);
  }
  return `${prefix}${base}`;
}

/** The base topic of a (possibly prefixed) Kafka topic name, or undefined when it is not one of ours. */
export function baseTopicOf(topic: string, prefix = ''): BaseTopic | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const base = topic.slice(prefix.length);
  return (Object.values(TOPICS) as string[]).includes(base) ? (base as BaseTopic) : undefined;
}
