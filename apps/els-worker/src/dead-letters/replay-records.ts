import type { Message, TopicMessages } from 'kafkajs';
import { REPLAY_OF_HEADER } from '../kafka/event-producer';
import { replayOfValue, type DeadLetterRecord } from './dead-letter-selection';

/** The records a replay produces, and how they are grouped into produce requests. */

/**
 * A produce request carries at most this many bytes of letters (a larger letter goes alone): a record batch
 * per partition then stays far below the input topics' `max.message.bytes` (4 MiB), and one letter alone
 * fits because its input topic accepted it once. Each request is also one step of the cursor.
 */
export const CHUNK_MAX_BYTES = 512 * 1024;
export const CHUNK_MAX_LETTERS = 500;

export interface ReplayRecord {
  readonly topic: string;
  readonly message: Message;
  /** Key, value and header bytes, for chunking. */
  readonly bytes: number;
}

/**
 * The record replaying `letter`: its own key and value bytes, untouched, to the topic named by its
 * `x-els-source-topic` (`sourceTopic`, checked by decideLetter to be an input topic of the deployment), with
 * `x-els-replay-of` naming the letter. It goes to its original partition, which keeps it among the records
 * of its key; only if the topic no longer has that partition does the worker's key partitioner place it.
 */
export function replayRecord(
  letter: DeadLetterRecord,
  sourceTopic: string,
  deadLetterTopicName: string,
  inputPartitions: ReadonlyMap<string, number>,
): ReplayRecord {
  const count = inputPartitions.get(sourceTopic) ?? 0;
  const partition =
    letter.sourcePartition !== undefined && letter.sourcePartition < count
      ? letter.sourcePartition
      : undefined;
  const replayOf = replayOfValue(deadLetterTopicName, letter.partition, letter.offset);
  return {
    topic: sourceTopic,
    message: {
      key: letter.key,
      value: letter.value,
      headers: { [REPLAY_OF_HEADER]: replayOf },
      ...(partition !== undefined ? { partition } : {}),
    },
    bytes:
      (letter.key?.byteLength ?? 0) +
      (letter.value?.byteLength ?? 0) +
      REPLAY_OF_HEADER.length +
      Buffer.byteLength(replayOf),
  };
}

/** Whether `next` must start a new request after `chunk` (never leaves a request empty). */
export function startsNewChunk(
  chunk: readonly ReplayRecord[],
  chunkBytes: number,
  next: ReplayRecord,
): boolean {
  return chunk.length > 0 && (chunkBytes + next.bytes > CHUNK_MAX_BYTES || chunk.length >= CHUNK_MAX_LETTERS);
}

/** One produce request's topic messages, in the order given (per-partition order is kept). */
export function topicMessagesOf(chunk: readonly ReplayRecord[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of chunk) {
    const messages = byTopic.get(record.topic) ?? [];
    messages.push(record.message);
    byTopic.set(record.topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
