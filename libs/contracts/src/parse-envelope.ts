import type { z } from 'zod';
import { CONTRACT_ERROR_CODES, contractError, jsonPath, type ContractError } from './contract-error';
import { rawEnvelopeSchema } from './envelope';
import { EVENT_DEFINITIONS, eventNameForType, type ParsedEvent } from './event-registry';

/** Default ceiling on a message value; Kafka's own default `message.max.bytes` is about 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

export type ParseResult = { ok: true; event: ParsedEvent } | { ok: false; error: ContractError };

export interface ParseOptions {
  maxBytes?: number;
}

const MAX_ISSUES = 20;

function issuesOf(error: z.ZodError, prefix: PropertyKey[] = []) {
  return error.issues.slice(0, MAX_ISSUES).map((issue) => ({
    path: jsonPath([...prefix, ...(issue.path as PropertyKey[])]),
    reason: issue.message,
  }));
}

/**
 * Turns message bytes into a typed event, or a ContractError value. It never throws, whatever the input
 * (binary garbage, JSON of any shape, megabytes). Routing follows `event_type`, as in the Python services;
 * `topic` is the Kafka topic it came from and only names the source in errors.
 */
export function parseEnvelope(
  bytes: Uint8Array | string | null | undefined,
  topic: string,
  options: ParseOptions = {},
): ParseResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes === null || bytes === undefined) {
    return fail(CONTRACT_ERROR_CODES.notJson, '$', `message from ${topic} has no value`);
  }
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > maxBytes) {
    return fail(
      CONTRACT_ERROR_CODES.tooLarge,
      '$',
      `message of ${size} bytes exceeds the limit of ${maxBytes} bytes`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : utf8.decode(bytes));
  } catch (error) {
    return fail(CONTRACT_ERROR_CODES.notJson, '$', `not UTF-8 JSON: ${(error as Error).message}`);
  }
  // A well-formed event is validated once, by its event's schema (envelope and data). Only when that
  // fails, or the type is unknown, does the envelope alone decide which error it is: the envelope's
  // issues first, then an unknown type, then the data's issues.
  const eventType = (json as { event_type?: unknown } | null)?.event_type;
  const name = typeof eventType === 'string' ? eventNameForType(eventType) : undefined;
  const parsed = name ? EVENT_DEFINITIONS[name].schema.safeParse(json) : undefined;
  if (name && parsed?.success) return { ok: true, event: { name, envelope: parsed.data } as ParsedEvent };
  const envelope = rawEnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    return {
      ok: false,
      error: contractError(CONTRACT_ERROR_CODES.invalidEnvelope, issuesOf(envelope.error)),
    };
  }
  if (!name || !parsed) {
    return fail(
      CONTRACT_ERROR_CODES.unknownEventType,
      '$.event_type',
      `unknown event_type "${envelope.data.event_type.slice(0, 200)}"`,
    );
  }
  if (parsed.success) return { ok: true, event: { name, envelope: parsed.data } as ParsedEvent };
  return { ok: false, error: contractError(CONTRACT_ERROR_CODES.invalidData, issuesOf(parsed.error)) };
}

/** Strict UTF-8 (invalid bytes are an error, not U+FFFD); one instance serves every call. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function fail(code: ContractError['code'], path: string, reason: string): ParseResult {
  return { ok: false, error: contractError(code, [{ path, reason }]) };
}
