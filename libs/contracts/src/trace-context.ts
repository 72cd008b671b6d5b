/**
 * W3C trace context as the Python services carry it: their OpenTelemetry propagator writes `traceparent`
 * (and `tracestate` when the span has vendor state) into the envelope's `metadata`, and their consumers
 * read it from there. ELS copies the context of the input that caused an output into that output's
 * `metadata`, so a trace continues through ELS.
 *
 * A context that does not have the W3C form is dropped, never an error: the event is still processed and
 * its outputs carry no trace context (a broken trace must not turn valid input into a dead letter).
 */
export interface TraceContext {
  traceparent: string;
  /** Present only when the input carried a usable one alongside a valid `traceparent`. */
  tracestate?: string;
}

/** `version-traceid-parentid-flags`, lowercase hex; version ff is reserved. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZEROS = /^0+$/;

/** The length every W3C participant must be able to pass on; a longer `tracestate` is dropped. */
export const TRACESTATE_MAX_LENGTH = 512;
/** Printable ASCII only (the W3C grammar's characters), so it can be stored and logged as it is. */
const TRACESTATE = /^[\x20-\x7e]*$/;

export function isValidTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = TRACEPARENT.exec(value);
  if (!match) return false;
  const [, version, traceId, parentId] = match;
  return version !== 'ff' && !ALL_ZEROS.test(traceId ?? '') && !ALL_ZEROS.test(parentId ?? '');
}

export function isValidTracestate(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.trim() !== '' &&
    value.length <= TRACESTATE_MAX_LENGTH &&
    TRACESTATE.test(value)
  );
}

/**
 * The usable trace context of an envelope's `metadata`, or null: a `traceparent` of the W3C form (else
 * nothing, `tracestate` included, as W3C prescribes), with `tracestate` when it is a usable string.
 */
export function traceContextOf(metadata: Record<string, unknown> | null | undefined): TraceContext | null {
  const traceparent = metadata?.['traceparent'];
  if (!isValidTraceparent(traceparent)) return null;
  const tracestate = metadata?.['tracestate'];
  return isValidTracestate(tracestate) ? { traceparent, tracestate } : { traceparent };
}

/** The metadata fields an output carries for a trace context (none for null). */
export function traceMetadata(context: TraceContext | null | undefined): Record<string, string> {
  if (!context) return {};
  return context.tracestate === undefined
    ? { traceparent: context.traceparent }
    : { traceparent: context.traceparent, tracestate: context.tracestate };
}
