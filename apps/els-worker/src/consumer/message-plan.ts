import { ERROR_CODES, type ErrorCode } from '@els/coordination';
import {
  COMPLETION_EVENT_MAX_BYTES,
  completionEventMaxBytes,
  parseEnvelope,
  type ParsedEvent,
} from '@els/contracts';
import type { BatchEssaysRegistered, EssayContentProvisioned, EssayValidationFailed } from '@els/contracts';
import type { InboundMessage } from './message-types';

type Unusable = {
  kind: 'unusable';
  message: InboundMessage;
  code: ErrorCode;
  reason: string;
  eventId?: string;
};
type Registration = { kind: 'registration'; message: InboundMessage; envelope: BatchEssaysRegistered };
type Content = { kind: 'content'; message: InboundMessage; envelope: EssayContentProvisioned };
type ValidationFailure = {
  kind: 'validation-failure';
  message: InboundMessage;
  envelope: EssayValidationFailed;
};

/** One fetched message after parsing: a typed input event, or unusable with a stable code. */
export type PlannedMessage = Unusable | Registration | Content | ValidationFailure;
export type UsableMessage = Registration | Content | ValidationFailure;

/** Work units in offset order; each is handled (and its offsets resolved) before the next starts. */
export type Step =
  | { kind: 'dead-letter'; items: Unusable[]; skipped: UsableMessage[]; lastOffset: string }
  | { kind: 'content'; items: Content[]; skipped: UsableMessage[]; lastOffset: string }
  | { kind: 'registration'; items: [Registration]; skipped: UsableMessage[]; lastOffset: string }
  | { kind: 'validation-failure'; items: [ValidationFailure]; skipped: UsableMessage[]; lastOffset: string }
  | { kind: 'skip'; items: []; skipped: UsableMessage[]; lastOffset: string };

export function planMessage(message: InboundMessage, maxBytes: number): PlannedMessage {
  const result = parseEnvelope(message.value, message.topic, { maxBytes });
  if (!result.ok) {
    const { code, path, reason } = result.error;
    return { kind: 'unusable', message, code, reason: `${path}: ${reason}` };
  }
  return classify(message, result.event);
}

function classify(message: InboundMessage, event: ParsedEvent): PlannedMessage {
  switch (event.name) {
    case 'BatchEssaysRegistered': {
      // A registration whose completion event could exceed COMPLETION_EVENT_MAX_BYTES (many essays, long
      // ids): accepted, its batch could never be announced, so it is refused before anything is written.
      const completionBytes = completionEventMaxBytes(event.envelope.data);
      if (completionBytes > COMPLETION_EVENT_MAX_BYTES) {
        return {
          kind: 'unusable',
          message,
          code: ERROR_CODES.batchTooLarge,
          reason:
            `$.data.essay_ids: the completion event of these ${event.envelope.data.essay_ids.length} essays ` +
            `could reach ${completionBytes} bytes, above the limit of ${COMPLETION_EVENT_MAX_BYTES}`,
          eventId: event.envelope.event_id,
        };
      }
      return { kind: 'registration', message, envelope: event.envelope };
    }
    case 'EssayContentProvisionedV1':
      return { kind: 'content', message, envelope: event.envelope };
    case 'EssayValidationFailedV1':
      return { kind: 'validation-failure', message, envelope: event.envelope };
    default:
      // An input event type that parses but that the worker does not consume (e.g. one of its own outputs).
      return {
        kind: 'unusable',
        message,
        code: ERROR_CODES.unexpectedEvent,
        reason: `$.event_type: ${event.envelope.event_type} is an output of this service, not an input`,
        eventId: event.envelope.event_id,
      };
  }
}

/**
 * Groups messages (already in offset order) into steps: runs of content events up to `maxContentBatch`
 * become one database call, runs of unusable messages one dead-letter publish, registrations and
 * validation failures one call each. Events already seen (Redis pre-filter) ride along with the step
 * before them and are resolved with it, so offsets are still resolved in order.
 */
export function planSteps(
  planned: readonly PlannedMessage[],
  seen: ReadonlySet<string>,
  maxContentBatch: number,
): Step[] {
  const steps: Step[] = [];
  let open: Step | undefined;
  for (const item of planned) {
    const offset = item.message.offset;
    if (item.kind !== 'unusable' && seen.has(item.envelope.event_id)) {
      if (!open) {
        open = { kind: 'skip', items: [], skipped: [], lastOffset: offset };
        steps.push(open);
      }
      open.skipped.push(item);
      open.lastOffset = offset;
      continue;
    }
    if (item.kind === 'unusable' && open?.kind === 'dead-letter') {
      open.items.push(item);
      open.lastOffset = offset;
      continue;
    }
    if (item.kind === 'content' && open?.kind === 'content' && open.items.length < maxContentBatch) {
      open.items.push(item);
      open.lastOffset = offset;
      continue;
    }
    open = stepOf(item);
    steps.push(open);
  }
  return steps;
}

function stepOf(item: PlannedMessage): Step {
  const lastOffset = item.message.offset;
  switch (item.kind) {
    case 'unusable':
      return { kind: 'dead-letter', items: [item], skipped: [], lastOffset };
    case 'content':
      return { kind: 'content', items: [item], skipped: [], lastOffset };
    case 'registration':
      return { kind: 'registration', items: [item], skipped: [], lastOffset };
    case 'validation-failure':
      return { kind: 'validation-failure', items: [item], skipped: [], lastOffset };
  }
}
