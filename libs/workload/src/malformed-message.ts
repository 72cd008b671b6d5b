import { CONTRACT_ERROR_CODES, DEFAULT_MAX_MESSAGE_BYTES, TOPICS, type BaseTopic } from '@els/contracts';
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
  'control-character-id',
  'oversized-ids',
  'unpaired-surrogate-ids',
] as const;

export type MalformedClass = (typeof MALFORMED_CLASSES)[number];

/** The dead-letter code the contract gives each malformed class (the checker expects it on the wire). */
export const MALFORMED_CLASS_CODES: Readonly<Record<MalformedClass, string>> = {
  'not-json': CONTRACT_ERROR_CODES.notJson,
  'wrong-shape': CONTRACT_ERROR_CODES.invalidEnvelope,
  'wrong-types': CONTRACT_ERROR_CODES.invalidData,
  'unknown-event-type': CONTRACT_ERROR_CODES.unknownEventType,
  'empty-essay-ids': CONTRACT_ERROR_CODES.invalidData,
  oversized: CONTRACT_ERROR_CODES.tooLarge,
  'control-character-id': CONTRACT_ERROR_CODES.invalidData,
  'oversized-ids': CONTRACT_ERROR_CODES.invalidData,
  'unpaired-surrogate-ids': CONTRACT_ERROR_CODES.invalidData,
};

/** 512 CJK characters: within 512 characters, but 1536 bytes of UTF-8, beyond the contract's 512 bytes. */
export const OVERSIZED_ID = '字'.repeat(512);

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
    case 'control-character-id': {
      // A NUL in the text id: PostgreSQL text cannot hold it.
      const data = { ...content.data, text_storage_id: `${textStorageId}\u0000` };
      return { topic: contentTopic, value: toWire({ ...content, data }), eventId, textStorageId };
    }
    case 'oversized-ids': {
      // Batch and text ids too long in UTF-8 for one index entry of the pair.
      const data = { ...content.data, entity_id: OVERSIZED_ID, text_storage_id: OVERSIZED_ID };
      return { topic: contentTopic, value: toWire({ ...content, data }), eventId, textStorageId };
    }
    case 'unpaired-surrogate-ids': {
      // Two essay ids that differ only in unpaired surrogates (JSON `\ud800` escapes): distinct in
      // JavaScript, one and the same string once encoded to UTF-8.
      const registration = makeRegistration({
        batchId,
        essayIds: [`${batchId}-essay-\ud800`, `${batchId}-essay-\udbff`],
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
