import type { Logger } from '../logger';
import { createEventConsumer, type EventConsumer, type EventConsumerOptions } from './event-consumer';
import { createEventProducer, type EventProducer } from './event-producer';
import { createKafkaClient, type KafkaClientOptions } from './kafka-client';
import { ensureTopics, type EnsureTopicsResult } from './topic-admin';

/** Everything the rest of the worker may do with Kafka, with no kafkajs type in sight. */
export interface KafkaTransport {
  ensureTopics(prefix: string, inputPartitions: number): Promise<EnsureTopicsResult>;
  createProducer(topicPrefix: string, logger: Logger): EventProducer;
  createConsumer(options: EventConsumerOptions): EventConsumer;
}

export function createKafkaTransport(options: KafkaClientOptions): KafkaTransport {
  const kafka = createKafkaClient(options);
  return {
    ensureTopics: (prefix, inputPartitions) => ensureTopics(kafka, prefix, inputPartitions, options.logger),
    createProducer: (topicPrefix, logger) => createEventProducer(kafka, topicPrefix, logger),
    createConsumer: (consumerOptions) => createEventConsumer(kafka, consumerOptions),
  };
}

export type { EventConsumer, EventConsumerOptions } from './event-consumer';
export type { EventProducer } from './event-producer';
export { DEAD_LETTER_HEADERS, EVENT_ID_HEADER, ORIGIN_HEADER } from './event-producer';
export type { EnsureTopicsResult } from './topic-admin';
