import type { ErrorCode } from '@els/coordination';

/** Kafka-independent shapes shared by the consumer adapter, the batch processor and the producer. */

/** One record as fetched, before parsing. */
export interface InboundMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The record's timestamp (ms since the epoch; the producer's send time unless the topic says otherwise). */
  readonly timestampMs?: number;
  /**
   * The record's headers as fetched (a name repeated in one record comes as an array). Read only to carry a
   * replay's `x-els-replay-of` onto its dead letter; the consumer adapter may leave them out.
   */
  readonly headers?: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string> | undefined>>;
}

/** What the processor may do with the batch it was handed (a view of kafkajs' eachBatch payload). */
export interface BatchControl {
  /** Marks `offset` (and everything before it in the partition) as done; it is committed later. */
  resolveOffset(offset: string): void;
  /** Keeps the group membership alive during long work; throws when the group is rebalancing. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the batch became stale after a rebalance. */
  isActive(): boolean;
}

/** Handles one fetched batch of one partition, in offset order. */
export type BatchHandler = (messages: readonly InboundMessage[], control: BatchControl) => Promise<void>;

/** A message that can never be processed, with the reason, on its way to the dead-letter topic. */
export interface DeadLetter {
  readonly message: InboundMessage;
  readonly code: ErrorCode;
  readonly reason: string;
  readonly eventId?: string;
  readonly correlationId?: string;
  /**
   * Set when the dead-letter topic refused the letter for good: it is written without its value, with the
   * value's SHA-256 and size and the refusal, and the original stays at its source offset.
   */
  readonly reference?: {
    readonly valueSha256: string;
    readonly valueBytes: number;
    readonly refusal: string;
  };
}

/** A record to publish: `topic` is a base topic name (the prefix is applied by the producer). */
export interface OutboundRecord {
  readonly eventId: string;
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  /** The replica whose transaction wrote the event (its session's application_name), when known. */
  readonly origin?: string | null;
}

export type RecordPublishResult = { ok: true } | { ok: false; error: Error };
