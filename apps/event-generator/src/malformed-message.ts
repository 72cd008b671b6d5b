import { DEFAULT_MAX_MESSAGE_BYTES, TOPICS, type BaseTopic } from '@els/contracts';
import { makeContent, makeRegistration, toWire } from '@els/contracts/testing';
import type { SeededRandom } from './seeded-random';

/** Kinds of bad input the worker must dead-letter without crashing (spec scenario 9). */
export const MALFORMED_CLASSES = [
  'not-json',
  'wrong-shape',
  'wrong-types',
  'unknown-event-type',
  'empty-essay-ids',
  'oversized',
] as const;

export type MalformedClass = (typeof MALFORMED_CLASSES)[number];

/** Size of an oversized value: just over the contract's 1 MiB ceiling. */
export const OVERSIZED_VALUE_BYTES = DEFAULT_MAX_MESSAGE_BYTES + 1024;

export interface MalformedMessage {
  topic: BaseTopic;
  value: Buffer;
  eventId: string;
  textStorageId?: string;
}

export interface MalformedInput {
  malformedClass: MalformedClass;
  batchId: string;
  /** Distinguishes several malformed messages of one batch. */
  index: number;
  random: SeededRandom;
  at: Date;
}

/** Builds the bytes of one malformed message. Each class fails the contract for a different reason. */
export function buildMalformedMessage(input: MalformedInput): MalformedMessage {
  const { batchId, index, random, at } = input;
  const eventId = random.uuid();
  const textStorageId = `${batchId}-malformed-${index}`;
  const content = makeContent({ batchId, textStorageId, eventId, correlationId: random.uuid(), at });
  const contentTopic = TOPICS.essayContentProvisioned;
  switch (input.malformedClass) {
    case 'not-json': {
      // A value cut off mid-way, as a crashed producer or a wrong serializer would leave it.
      const wire = toWire(content);
      return {
        topic: contentTopic,
        value: wire.subarray(0, Math.floor(wire.length / 2)),
        eventId,
        textStorageId,
      };
    }
    case 'wrong-shape':
      // Valid JSON, but a bare payload with no envelope around it.
      return { topic: contentTopic, value: toWire([content.data]), eventId, textStorageId };
    case 'wrong-types': {
      const data = { ...content.data, file_size_bytes: '2048', text_storage_id: 12345 };
      return { topic: contentTopic, value: toWire({ ...content, data }), eventId, textStorageId };
    }
    case 'unknown-event-type':
      return {
        topic: contentTopic,
        value: toWire({ ...content, event_type: 'huleedu.file.essay.content.deleted.v1' }),
        eventId,
        textStorageId,
      };
    case 'empty-essay-ids': {
      const registration = makeRegistration({
        batchId,
        essayIds: [],
        eventId,
        correlationId: random.uuid(),
        at,
      });
      return { topic: TOPICS.batchEssaysRegistered, value: toWire(registration), eventId };
    }
    case 'oversized': {
      const envelopeBytes = toWire(content).length;
      const padding = 'x'.repeat(Math.max(0, OVERSIZED_VALUE_BYTES - envelopeBytes - 16));
      const value = toWire({ ...content, data: { ...content.data, padding } });
      return { topic: contentTopic, value, eventId, textStorageId };
    }
  }
}
