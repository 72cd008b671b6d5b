import { createHash } from 'node:crypto';
import { INPUT_TOPICS, TOPICS, topicName } from '@els/contracts';
import {
  DEAD_LETTER_HEADERS,
  REFERENCE_LETTER_HEADERS,
  replayOfHeader,
  singleHeaderText,
} from '../kafka/event-producer';
import type { ReplayArguments } from './replay-args';

/**
 * Which dead letters a replay takes, decided purely from the letter's headers and record timestamp: the
 * filters resolved against the deployment's topic prefix, the letter as read, and the decision.
 */

/** The filters of one replay, resolved against the topic prefix: the identity of its cursor. */
export interface ReplayFilters {
  readonly topicPrefix: string;
  /** Sorted, without duplicates; empty: every code. */
  readonly codes: readonly string[];
  /** Full topic names (prefix included), sorted, without duplicates; empty: every input topic. */
  readonly sourceTopics: readonly string[];
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly includeReplayed: boolean;
}

export type ReplayFiltersResult =
  | { readonly kind: 'filters'; readonly filters: ReplayFilters }
  | { readonly kind: 'error'; readonly argument: string; readonly message: string };

/** The topics a replay may produce to: the worker's input topics under the deployment's prefix. */
export function replayableTopics(topicPrefix: string): readonly string[] {
  return INPUT_TOPICS.map((base) => topicName(base, topicPrefix));
}

export function deadLetterTopic(topicPrefix: string): string {
  return topicName(TOPICS.deadLetter, topicPrefix);
}

/**
 * Resolves `--source-topic` values (base or full names) to full names under the prefix; anything that is
 * not one of the deployment's input topics is a bad argument, since no letter from it may be replayed.
 */
export function resolveReplayFilters(args: ReplayArguments, topicPrefix: string): ReplayFiltersResult {
  const inputs = replayableTopics(topicPrefix);
  const sourceTopics = new Set<string>();
  for (const given of args.sourceTopics) {
    const full = inputs.find((topic) => topic === given || topic === `${topicPrefix}${given}`);
    if (!full) {
      return {
        kind: 'error',
        argument: '--source-topic',
        message: `--source-topic "${given}" is not an input topic of this deployment (ELS_TOPIC_PREFIX="${topicPrefix}"); expected one of ${inputs.join(', ')}`,
      };
    }
    sourceTopics.add(full);
  }
  return {
    kind: 'filters',
    filters: {
      topicPrefix,
      codes: [...new Set(args.codes)].sort(),
      sourceTopics: [...sourceTopics].sort(),
      ...(args.sinceMs !== undefined ? { sinceMs: args.sinceMs } : {}),
      ...(args.untilMs !== undefined ? { untilMs: args.untilMs } : {}),
      includeReplayed: args.includeReplayed,
    },
  };
}

/**
 * The consumer group whose committed offsets are the cursor of this filter set: the same filters (in any
 * order or spelling: base or full topic names, any ISO form of the same instant) give the same group; the
 * prefix is part of the hash so deployments sharing a cluster never share a cursor.
 */
export function cursorGroupId(filters: ReplayFilters): string {
  const normalised = JSON.stringify([
    filters.topicPrefix,
    filters.codes,
    filters.sourceTopics,
    filters.sinceMs ?? null,
    filters.untilMs ?? null,
    filters.includeReplayed,
  ]);
  return `els-dead-letter-replay-${createHash('sha256').update(normalised).digest('hex').slice(0, 16)}`;
}

type RecordHeaders = Parameters<typeof singleHeaderText>[0];

/** A dead letter as read from the dead-letter topic; header fields are absent when missing or malformed. */
export interface DeadLetterRecord {
  /** Where the letter itself is: dead-letter topic partition and offset. */
  readonly partition: number;
  readonly offset: string;
  /** The letter's record timestamp (when it was dead-lettered), ms since the epoch. */
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly sourceTopic?: string;
  readonly sourcePartition?: number;
  readonly sourceOffset?: string;
  readonly code?: string;
  readonly eventId?: string;
  /** Set when the dead-lettered record was itself a replay: the letter it replayed. */
  readonly replayOf?: string;
  /**
   * Set on a reference letter: the dead-letter topic refused the letter with its value, so it carries only
   * the value's SHA-256 and the original stays at its source offset.
   */
  readonly valueSha256?: string;
}

/** Reads a fetched dead letter (kafkajs' message shape) into a DeadLetterRecord. */
export function readDeadLetter(
  partition: number,
  message: {
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers?: RecordHeaders;
  },
): DeadLetterRecord {
  const header = (name: string) => singleHeaderText(message.headers, name);
  const sourceTopic = header(DEAD_LETTER_HEADERS.sourceTopic);
  const sourcePartition = Number(header(DEAD_LETTER_HEADERS.sourcePartition) ?? Number.NaN);
  const sourceOffset = header(DEAD_LETTER_HEADERS.sourceOffset);
  const code = header(DEAD_LETTER_HEADERS.errorCode);
  const eventId = header(DEAD_LETTER_HEADERS.eventId);
  const replayOf = replayOfHeader(message.headers);
  const valueSha256 = header(REFERENCE_LETTER_HEADERS.valueSha256);
  return {
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key,
    value: message.value,
    ...(sourceTopic !== undefined ? { sourceTopic } : {}),
    ...(Number.isInteger(sourcePartition) && sourcePartition >= 0 ? { sourcePartition } : {}),
    ...(sourceOffset !== undefined && /^\d+$/.test(sourceOffset) ? { sourceOffset } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(eventId !== undefined ? { eventId } : {}),
    ...(replayOf !== undefined ? { replayOf } : {}),
    ...(valueSha256 !== undefined ? { valueSha256 } : {}),
  };
}

/** Why a letter read was not replayed. The first three are the filters; the others hold a letter back. */
export type SkipReason =
  'code' | 'sourceTopic' | 'timeRange' | 'refusedSourceTopic' | 'referenceLetter' | 'failedAgainAfterReplay';

export type LetterDecision =
  /** `sourceTopic`: the letter's source topic, checked to be an input topic of the deployment. */
  | { readonly action: 'replay'; readonly sourceTopic: string }
  | { readonly action: 'skip'; readonly reason: SkipReason };

/**
 * Decides one letter. The filters come first (a letter they exclude is simply not this replay's concern);
 * then a selected letter whose source topic is not one of the deployment's input topics is refused (a
 * forged or foreign header must never make the command produce elsewhere); a reference letter is held
 * back, since it has no value to replay (producing its null value would dead-letter it again as not
 * JSON); and one that already failed after a replay is held back unless `includeReplayed`, since the cause
 * was evidently not fixed for it.
 */
export function decideLetter(letter: DeadLetterRecord, filters: ReplayFilters): LetterDecision {
  const skip = (reason: SkipReason): LetterDecision => ({ action: 'skip', reason });
  if (filters.codes.length > 0 && (letter.code === undefined || !filters.codes.includes(letter.code))) {
    return skip('code');
  }
  if (
    filters.sourceTopics.length > 0 &&
    (letter.sourceTopic === undefined || !filters.sourceTopics.includes(letter.sourceTopic))
  ) {
    return skip('sourceTopic');
  }
  if (filters.sinceMs !== undefined && !(letter.timestampMs >= filters.sinceMs)) return skip('timeRange');
  if (filters.untilMs !== undefined && !(letter.timestampMs < filters.untilMs)) return skip('timeRange');
  if (
    letter.sourceTopic === undefined ||
    !replayableTopics(filters.topicPrefix).includes(letter.sourceTopic)
  ) {
    return skip('refusedSourceTopic');
  }
  if (letter.valueSha256 !== undefined) return skip('referenceLetter');
  if (letter.replayOf !== undefined && !filters.includeReplayed) return skip('failedAgainAfterReplay');
  return { action: 'replay', sourceTopic: letter.sourceTopic };
}

/** The `x-els-replay-of` value naming a dead letter. */
export function replayOfValue(deadLetterTopicName: string, partition: number, offset: string): string {
  return `${deadLetterTopicName}/${partition}/${offset}`;
}
