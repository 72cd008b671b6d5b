import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { SendKind } from './workload-plan';
import type { MalformedClass } from './malformed-message';

/**
 * One line of the sent log (JSON Lines): one message the broker acknowledged. The distributed checker
 * reads this file to know what was produced.
 */
export interface SentLogLine {
  /** 1-based position in send order. */
  seq: number;
  /** Full Kafka topic, prefix included. */
  topic: string;
  partition: number;
  key: string;
  kind: SendKind;
  batchId: string;
  textStorageId: string | null;
  fileUploadId: string | null;
  eventId: string | null;
  malformedClass: MalformedClass | null;
  /** The envelope's correlation id of a valid event (the events it causes must carry it); null otherwise. */
  correlationId: string | null;
  /** Content: the original file name its slot-assigned or excess event must repeat; null otherwise. */
  originalFileName: string | null;
  /** Registrations: the course code and user id its completion must repeat; null otherwise. */
  courseCode: string | null;
  userId: string | null;
  /**
   * Every valid event: the `traceparent` and `tracestate` of its envelope's metadata as sent (null when it
   * had none; the traceparent may be deliberately invalid). The outputs it causes must carry the usable
   * part (`traceContextOf`); absent in a log written before the generator sent trace contexts.
   */
  traceparent?: string | null;
  tracestate?: string | null;
  /** Size of the value in bytes. */
  valueBytes: number;
  /** SHA-256 of the value (hex): a dead letter must carry these bytes. */
  valueSha256: string;
  /** Wall-clock time just before the send call that carried this message. */
  sentAtMs: number;
  /** Wall-clock time the broker acknowledged it (acks = all). */
  ackedAtMs: number;
  /**
   * Offset the broker acknowledged for this message (its topic-partition's base offset in the
   * acknowledgement plus its position in the request); null when it was refused (or the acknowledgement named no offset).
   */
  offset: string | null;
  /**
   * Send calls its chunk took. Above 1, an earlier call may have written the message too, at another offset,
   * before failing (at-least-once producing).
   */
  attempts: number;
  /** Set when the broker refused the message (only oversized ones can be); it was not written. */
  rejected?: string;
}

export interface SentLogWriter {
  write(lines: readonly SentLogLine[]): Promise<void>;
  close(): Promise<void>;
}

/** Appends lines to a JSON Lines file, respecting stream back-pressure. */
export function createSentLogWriter(path: string): SentLogWriter {
  const stream: WriteStream = createWriteStream(path, { flags: 'w' });
  let closed = false;
  return {
    async write(lines) {
      if (lines.length === 0) return;
      const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
      if (!stream.write(text)) await once(stream, 'drain');
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve, reject) =>
        stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/** Reads a sent log back, line by line. */
export async function readSentLog(path: string): Promise<SentLogLine[]> {
  const lines: SentLogLine[] = [];
  const reader = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of reader) {
    if (line.trim() !== '') lines.push(JSON.parse(line) as SentLogLine);
  }
  return lines;
}
