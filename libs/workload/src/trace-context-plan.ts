import { createSeededRandom, type SeededRandom } from './seeded-random';

/** The trace context a planned event carries in its envelope's `metadata`, as a producer's propagator writes it. */
export interface PlannedTraceContext {
  traceparent: string;
  tracestate?: string;
}

/** One event in this many carries a traceparent without the W3C form (the worker must drop it, not fail). */
export const INVALID_TRACEPARENT_EVERY = 16;
/** One valid traceparent in this many comes with a tracestate. */
export const TRACESTATE_EVERY = 3;

const hex = (random: SeededRandom, digits: number): string => {
  let text = '';
  for (let i = 0; i < digits; i += 1) text += random.int(16).toString(16);
  return text;
};

/** Hex digits that are not all zeros (W3C forbids an all-zero trace id or parent id). */
const nonZeroHex = (random: SeededRandom, digits: number): string => {
  const text = hex(random, digits);
  return /^0+$/.test(text) ? `${text.slice(0, -1)}1` : text;
};

/** Forms a broken propagator could write; each breaks one rule of the W3C traceparent. */
const INVALID_FORMS: ReadonlyArray<(traceId: string, parentId: string) => string> = [
  (_, parentId) => `00-${'0'.repeat(32)}-${parentId}-01`,
  (traceId) => `00-${traceId}-${'0'.repeat(16)}-01`,
  (traceId, parentId) => `ff-${traceId}-${parentId}-01`,
  (traceId, parentId) => `00-${traceId.toUpperCase()}-${parentId.toUpperCase()}-01`,
  (traceId, parentId) => `00-${traceId.slice(1)}-${parentId}-01`,
  (traceId, parentId) => `${traceId}-${parentId}`,
];

/**
 * The trace context of one event, derived from the seed, the run id and the event id alone, so a seed
 * reproduces every context, copies of one event (same id) carry the same one, and events under other ids
 * other ones. Most are valid W3C contexts (every third with a tracestate); one in
 * INVALID_TRACEPARENT_EVERY has a traceparent that breaks one W3C rule, which the worker must drop.
 */
export function planTraceContext(seed: number, runId: string, eventId: string): PlannedTraceContext {
  const random = createSeededRandom(seed).fork(`${runId}/trace/${eventId}`);
  const traceId = nonZeroHex(random, 32);
  const parentId = nonZeroHex(random, 16);
  const flags = random.int(2) === 0 ? '01' : '00';
  const state = `els=${hex(random, 8)},rojo=${parentId}`;
  if (random.int(INVALID_TRACEPARENT_EVERY) === 0) {
    const form = INVALID_FORMS[random.int(INVALID_FORMS.length)] as (typeof INVALID_FORMS)[number];
    return { traceparent: form(traceId, parentId), tracestate: state };
  }
  const traceparent = `00-${traceId}-${parentId}-${flags}`;
  return random.int(TRACESTATE_EVERY) === 0 ? { traceparent, tracestate: state } : { traceparent };
}
