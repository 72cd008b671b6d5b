import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';

export interface GeneratorKafkaOptions {
  brokers: readonly string[];
  clientId?: string;
}

export function createGeneratorKafka(options: GeneratorKafkaOptions): Kafka {
  return new Kafka({
    clientId: options.clientId ?? 'event-generator',
    brokers: [...options.brokers],
    logLevel: logLevel.ERROR,
    retry: { initialRetryTime: 200, retries: 8 },
  });
}

/**
 * By default a plain producer with acks = all (set per send) and several requests in flight: the
 * idempotent producer allows one request in flight, which caps throughput well below the suite's
 * targets. The worker de-duplicates anyway, and the sent log records each planned message once.
 */
export function createGeneratorProducer(kafka: Kafka, options: { idempotent?: boolean } = {}): Producer {
  const idempotent = options.idempotent ?? false;
  return kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent,
    ...(idempotent ? { maxInFlightRequests: 1 } : {}),
  });
}
