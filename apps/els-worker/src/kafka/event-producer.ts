import { TOPICS, topicName, type BaseTopic } from '@els/contracts';
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { DeadLetter, OutboundRecord, RecordPublishResult } from '../consumer/message-types';
import type { Logger } from '../logger';
import { LARGE_EVENT_TOPICS } from './topic-admin';

export const EVENT_ID_HEADER = 'x-els-event-id';
export const DEAD_LETTER_HEADERS = {
  sourceTopic: 'x-els-source-topic',
  sourcePartition: 'x-els-source-partition',
  sourceOffset: 'x-els-source-offset',
  errorCode: 'x-els-error-code',
  errorMessage: 'x-els-error-message',
  eventId: EVENT_ID_HEADER,
} as const;

/** Kafka header values are bytes; a long reason is cut so the record stays well under the size limit. */
const MAX_HEADER_MESSAGE_CHARS = 2000;

export interface EventProducer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Publishes outbox rows; one result per record, in input order. Never throws. */
  publish(records: readonly OutboundRecord[]): Promise<RecordPublishResult[]>;
  /** Publishes the original bytes of unusable messages with headers naming source and error. Throws on failure. */
  publishDeadLetters(letters: readonly DeadLetter[]): Promise<void>;
}

/**
 * The idempotent producer (acks from all in-sync replicas, one request in flight, so the broker
 * de-duplicates retries and keeps order per partition). Used by the outbox relay and for dead letters.
 */
export function createEventProducer(kafka: Kafka, topicPrefix: string, logger: Logger): EventProducer {
  let producer: Producer | undefined;
  let starting: Promise<void> | undefined;

  function connected(): Producer {
    if (!producer) throw new Error('producer is not started');
    return producer;
  }

  async function sendGrouped(
    entries: ReadonlyArray<{ topic: string; message: Message }>,
    compression: CompressionTypes = CompressionTypes.None,
  ): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const entry of entries) {
      const list = byTopic.get(entry.topic) ?? [];
      list.push(entry.message);
      byTopic.set(entry.topic, list);
    }
    await connected().sendBatch({
      acks: -1,
      compression,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }

  /** Sends one group of records; every record of the group shares its result. */
  async function publishGroup(
    records: ReadonlyArray<OutboundRecord>,
    compression: CompressionTypes,
  ): Promise<RecordPublishResult> {
    try {
      await sendGrouped(
        records.map((record) => ({
          topic: topicName(record.topic as BaseTopic, topicPrefix),
          message: { key: record.key, value: record.value, headers: { [EVENT_ID_HEADER]: record.eventId } },
        })),
        compression,
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  return {
    async start() {
      if (producer) return starting;
      producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      starting = producer.connect();
      await starting;
      logger.info({}, 'Producer connected');
    },
    async stop() {
      const current = producer;
      producer = undefined;
      if (!current) return;
      await starting?.catch(() => undefined);
      await current.disconnect();
      logger.info({}, 'Producer disconnected');
    },
    async publish(records) {
      if (records.length === 0) return [];
      // Completion events list every essay of their batch and may be large: they go in a request of
      // their own, gzip-compressed, so a refused one cannot hold back the small events published with it.
      const isLarge = (record: OutboundRecord) => LARGE_EVENT_TOPICS.has(record.topic);
      const small = records.filter((record) => !isLarge(record));
      const large = records.filter(isLarge);
      const smallResult = small.length > 0 ? await publishGroup(small, CompressionTypes.None) : undefined;
      const largeResult = large.length > 0 ? await publishGroup(large, CompressionTypes.GZIP) : undefined;
      return records.map((record) => (isLarge(record) ? largeResult : smallResult) ?? { ok: true });
    },
    async publishDeadLetters(letters) {
      if (letters.length === 0) return;
      await sendGrouped(
        letters.map((letter) => ({
          topic: topicName(TOPICS.deadLetter, topicPrefix),
          message: {
            key: letter.message.key,
            value: letter.message.value,
            headers: deadLetterHeaders(letter),
          },
        })),
      );
    },
  };
}

export function deadLetterHeaders(letter: DeadLetter): Record<string, string> {
  const headers: Record<string, string> = {
    [DEAD_LETTER_HEADERS.sourceTopic]: letter.message.topic,
    [DEAD_LETTER_HEADERS.sourcePartition]: String(letter.message.partition),
    [DEAD_LETTER_HEADERS.sourceOffset]: letter.message.offset,
    [DEAD_LETTER_HEADERS.errorCode]: letter.code,
    [DEAD_LETTER_HEADERS.errorMessage]: letter.reason.slice(0, MAX_HEADER_MESSAGE_CHARS),
  };
  if (letter.eventId) headers[DEAD_LETTER_HEADERS.eventId] = letter.eventId;
  return headers;
}
