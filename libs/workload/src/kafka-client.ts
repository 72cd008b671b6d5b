import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';

export interface GeneratorKafkaOptions {
  brokers: readonly string[];
  clientId?: string;
  logLevel?: logLevel;
}

export function createGeneratorKafka(options: GeneratorKafkaOptions): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'event-generator',
    brokers: [...options.brokers],
    logLevel: options.logLevel ?? logLevel.ERROR,
    retry: { initialRetryTime: 200, retries: 8 },
  });
}

/**
 * Idempotent by default: kafkajs retries a produce request after a transient broker error (for example
 * NOT_LEADER_OR_FOLLOWER just after topic creation), and without idempotence the partitions of that
 * request that had already succeeded are written twice. Idempotence allows one request in flight, which
 * costs nothing here because the generator awaits each `sendBatch` before the next (to keep send order).
 * `idempotent: false` gives a plain producer with acks = all, whose retries may duplicate messages.
 */
export function createGeneratorProducer(kafka: Kafka, options: { idempotent?: boolean } = {}): Producer {
  const idempotent = options.idempotent ?? true;
  return kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent,
    ...(idempotent ? { maxInFlightRequests: 1 } : {}),
  });
}
