import { TOPICS, partitionForKey, topicName, type BaseTopic } from '@els/contracts';
import {
  CompressionTypes,
  Partitioners,
  type ICustomPartitioner,
  type Kafka,
  type Message,
  type Producer,
} from 'kafkajs';
import type { DeadLetter, OutboundRecord, RecordPublishResult } from '../consumer/message-types';
import type { Logger } from '../logger';
import { DEAD_LETTER_HEADROOM_BYTES, LARGE_EVENT_TOPICS } from './topic-admin';

export const EVENT_ID_HEADER = 'x-els-event-id';
/** On published events: the application_name of the session that wrote the outbox row (its replica). */
export const ORIGIN_HEADER = 'x-els-origin';
/**
 * On a record produced by `replay-dead-letters`: `<dead-letter topic>/<partition>/<offset>` of the letter it
 * replays. A dead letter of such a record carries it on, so a replay can tell "failed again after replay".
 */
export const REPLAY_OF_HEADER = 'x-els-replay-of';
export const DEAD_LETTER_HEADERS = {
  sourceTopic: 'x-els-source-topic',
  sourcePartition: 'x-els-source-partition',
  sourceOffset: 'x-els-source-offset',
  errorCode: 'x-els-error-code',
  errorMessage: 'x-els-error-message',
  eventId: EVENT_ID_HEADER,
  replayOf: REPLAY_OF_HEADER,
} as const;

/**
 * On a reference letter only (the dead-letter topic refused the letter with its value): the SHA-256 (hex)
 * and size of the value left at its source offset, and the broker's refusal. Its value is null.
 */
export const REFERENCE_LETTER_HEADERS = {
  valueSha256: 'x-els-value-sha256',
  valueBytes: 'x-els-value-bytes',
  refusal: 'x-els-dead-letter-refusal',
} as const;

/** A well-formed `x-els-replay-of` value: a topic name, a partition and an offset (at most 281 bytes). */
const REPLAY_OF_PATTERN = /^[A-Za-z0-9._-]{1,249}\/\d{1,10}\/\d{1,19}$/;

type RecordHeaders = Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string> | undefined>>;

/** The text of a header that appears once; undefined when it is absent or repeated. */
export function singleHeaderText(headers: RecordHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

/**
 * The `x-els-replay-of` of a record, when it is well-formed. Anything else is dropped: the header comes
 * from whoever produced the input record, and an unchecked value could push a dead letter past the
 * dead-letter topic's headroom.
 */
export function replayOfHeader(headers: RecordHeaders | undefined): string | undefined {
  const value = singleHeaderText(headers, REPLAY_OF_HEADER);
  return value !== undefined && REPLAY_OF_PATTERN.test(value) ? value : undefined;
}

/**
 * `x-els-error-message` is cut to this many bytes of UTF-8, so the headers of a dead letter (this, a
 * topic name of at most 249 characters, partition, offset, code, event id and a checked replay-of: under
 * 2 KiB) always fit the dead-letter topic's headroom over the input topics (DEAD_LETTER_HEADROOM_BYTES).
 */
export const DEAD_LETTER_ERROR_MESSAGE_MAX_BYTES = 1024;

/**
 * Dead letters are sent in requests of at most this many bytes (keys, values and headers), and a larger
 * letter alone: one record batch per partition then holds either one letter, which fits because its
 * input topic accepted it, or letters adding up to less than the headroom.
 */
const DEAD_LETTER_REQUEST_BYTES = DEAD_LETTER_HEADROOM_BYTES / 2;

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
/**
 * Broker answers meaning the producer's idempotence state (producer id, epoch, sequence numbers) no longer
 * matches the broker's, e.g. after a broker crash lost batches it had acknowledged but not flushed. The same
 * producer instance fails with them on every later send; a new one gets a new producer id and starts over.
 */
const STALE_PRODUCER_ERRORS: ReadonlySet<string> = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** True when the error, or one it wraps (retries exhausted, aggregated), is a stale-producer answer. */
export function isStaleProducerError(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const candidate = error as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof candidate.type === 'string' && STALE_PRODUCER_ERRORS.has(candidate.type)) return true;
  const wrapped = [
    candidate.originalError,
    candidate.cause,
    ...(Array.isArray(candidate.errors) ? candidate.errors : []),
  ];
  return wrapped.some((inner) => isStaleProducerError(inner, depth + 1));
}

/**
 * kafkajs's default partitioner, with the key hashed by the contracts' `partitionForKey` (the same
 * partition; kafkajs computes murmur2 on its 64-bit `Long` emulation for every record). A record without
 * a key, or with an explicit partition, is placed by kafkajs's own partitioner as before.
 */
export const keyPartitioner: ICustomPartitioner = () => {
  const fallback = Partitioners.DefaultPartitioner();
  return (args) => {
    const { key, partition } = args.message;
    if (partition !== undefined && partition !== null) return partition;
    if (key === undefined || key === null) return fallback(args);
    return partitionForKey(key, args.partitionMetadata.length);
  };
};

export function createEventProducer(kafka: Kafka, topicPrefix: string, logger: Logger): EventProducer {
  let producer: Producer | undefined;
  let starting: Promise<void> | undefined;
  let reopening: Promise<void> | undefined;
  let started = false;

  async function open(): Promise<void> {
    const created = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: keyPartitioner,
    });
    producer = created;
    starting = created.connect();
    try {
      await starting;
    } catch (error) {
      // Connecting again must be possible (a broker restarting refuses InitProducerId for a while).
      producer = undefined;
      starting = undefined;
      await created.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /** The connected producer; after a replacement whose connect failed, the next send connects again. */
  async function connected(): Promise<Producer> {
    if (!started) throw new Error('producer is not started');
    if (!producer) {
      reopening ??= open().finally(() => (reopening = undefined));
      await reopening;
    }
    await starting;
    return producer as Producer;
  }

  /** Drops a producer whose idempotence state the broker refuses; the next send uses a new one. */
  async function replaceStale(stale: Producer, error: unknown): Promise<void> {
    if (producer !== stale) return;
    producer = undefined;
    starting = undefined;
    await stale.disconnect().catch(() => undefined);
    logger.warn(
      { error: error instanceof Error ? error.message : String(error) },
      'Producer replaced: the broker refused its idempotence state (the next send gets a new producer id)',
    );
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
    const current = await connected();
    try {
      await current.sendBatch({
        acks: -1,
        compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      if (isStaleProducerError(error)) await replaceStale(current, error);
      throw error;
    }
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
          message: {
            key: record.key,
            value: record.value,
            headers: {
              [EVENT_ID_HEADER]: record.eventId,
              ...(record.origin ? { [ORIGIN_HEADER]: record.origin } : {}),
            },
          },
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
      if (started) return starting;
      started = true;
      try {
        await open();
      } catch (error) {
        started = false;
        throw error;
      }
      logger.info({}, 'Producer connected');
    },
    async stop() {
      started = false;
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
      const topic = topicName(TOPICS.deadLetter, topicPrefix);
      for (const chunk of deadLetterRequests(letters)) {
        await sendGrouped(
          chunk.map(({ letter, headers }) => ({
            topic,
            // A reference letter carries no value: the topic refused the letter with it (see DeadLetter).
            message: {
              key: letter.message.key,
              value: letter.reference ? null : letter.message.value,
              headers,
            },
          })),
        );
      }
    },
  };
}

/** Letters in order, grouped into requests of at most DEAD_LETTER_REQUEST_BYTES (a larger letter alone). */
function deadLetterRequests(
  letters: readonly DeadLetter[],
): Array<Array<{ letter: DeadLetter; headers: Record<string, string> }>> {
  const requests: Array<Array<{ letter: DeadLetter; headers: Record<string, string> }>> = [];
  let open: Array<{ letter: DeadLetter; headers: Record<string, string> }> = [];
  let openBytes = 0;
  for (const letter of letters) {
    const headers = deadLetterHeaders(letter);
    const bytes =
      (letter.message.key?.byteLength ?? 0) +
      (letter.message.value?.byteLength ?? 0) +
      Object.entries(headers).reduce((n, [name, value]) => n + name.length + Buffer.byteLength(value), 0);
    if (open.length > 0 && openBytes + bytes > DEAD_LETTER_REQUEST_BYTES) {
      requests.push(open);
      open = [];
      openBytes = 0;
    }
    open.push({ letter, headers });
    openBytes += bytes;
  }
  if (open.length > 0) requests.push(open);
  return requests;
}

/** The first `maxBytes` bytes of `text` in UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let end = Math.min(text.length, maxBytes);
  while (end > 0 && Buffer.byteLength(text.slice(0, end)) > maxBytes) end--;
  // Do not leave the high half of a surrogate pair at the end.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

export function deadLetterHeaders(letter: DeadLetter): Record<string, string> {
  const headers: Record<string, string> = {
    [DEAD_LETTER_HEADERS.sourceTopic]: letter.message.topic,
    [DEAD_LETTER_HEADERS.sourcePartition]: String(letter.message.partition),
    [DEAD_LETTER_HEADERS.sourceOffset]: letter.message.offset,
    [DEAD_LETTER_HEADERS.errorCode]: letter.code,
    [DEAD_LETTER_HEADERS.errorMessage]: truncateUtf8(letter.reason, DEAD_LETTER_ERROR_MESSAGE_MAX_BYTES),
  };
  if (letter.eventId) headers[DEAD_LETTER_HEADERS.eventId] = letter.eventId;
  const replayOf = replayOfHeader(letter.message.headers);
  if (replayOf) headers[DEAD_LETTER_HEADERS.replayOf] = replayOf;
  if (letter.reference) {
    headers[REFERENCE_LETTER_HEADERS.valueSha256] = letter.reference.valueSha256;
    headers[REFERENCE_LETTER_HEADERS.valueBytes] = String(letter.reference.valueBytes);
    headers[REFERENCE_LETTER_HEADERS.refusal] = truncateUtf8(
      letter.reference.refusal,
      DEAD_LETTER_ERROR_MESSAGE_MAX_BYTES,
    );
  }
  return headers;
}
