import { randomUUID } from 'node:crypto';

/** A topic prefix and consumer group no other test uses. */
export function uniqueKafkaNames(label: string): { topicPrefix: string; consumerGroup: string } {
  const id = randomUUID().slice(0, 8);
  return { topicPrefix: `t${id}.${label}.`, consumerGroup: `els-test-${label}-${id}` };
}
