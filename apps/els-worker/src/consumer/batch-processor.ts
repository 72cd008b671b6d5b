import type { ContentOutcome, EventHandlers } from '../coordination-port';
import type { Logger } from '../logger';
import type { EventFilter } from '../redis/event-filter';
import { planMessage, planSteps, type PlannedMessage, type Step, type UsableMessage } from './message-plan';
import type { BatchControl, BatchHandler, DeadLetter, InboundMessage } from './message-types';
import type { ProcessorEventListener } from './processor-events';
import { NonRetriableFailure, retryPolicyOf, retryWhileActive, type ClassifiedFailure } from './retry-loop';
import type { RetrySubject } from './retry-tracker';

export const ESSAY_ID_CONFLICT_CODE = 'ELS_ERR_ESSAY_ID_CONFLICT';
export const BROKER_UNAVAILABLE_CODE = 'ELS_ERR_BROKER_UNAVAILABLE';
const DEFAULT_RETRY_UNEXPECTED_MAX = 5;

export interface BatchProcessorOptions {
  handlers: EventHandlers;
  classifyError(error: unknown): Omit<ClassifiedFailure, 'cause'>;
  eventFilter: Pick<EventFilter, 'filterSeen' | 'markSeen'>;
  publishDeadLetters(letters: readonly DeadLetter[]): Promise<void>;
  maxMessageBytes: number;
  maxContentBatch: number;
  retryMaxBackoffMs: number;
  /**
   * Attempts of a message whose failure is unexpected before it is dead-lettered
   * (`ELS_RETRY_UNEXPECTED_MAX`, whose default is also the default here).
   */
  retryUnexpectedMax?: number;
  logger: Logger;
  onEvent?: ProcessorEventListener;
  sleep?: (ms: number) => Promise<void>;
}

const labelOf = {
  registration: 'registration',
  content: 'content',
  'validation-failure': 'validation_failure',
  unusable: 'invalid',
} as const;

/** Milliseconds since the record's timestamp, when it has one. */
function ageOf(message: InboundMessage, now: number): number | undefined {
  const at = message.timestampMs;
  return at !== undefined && Number.isFinite(at) ? Math.max(0, now - at) : undefined;
}

/** A message a log line, a retry or a dead letter is about. */
interface Concerned {
  readonly message: InboundMessage;
  readonly eventId?: string;
  readonly correlationId?: string;
}

const concernedOf = (item: UsableMessage): Concerned => ({
  message: item.message,
  eventId: item.envelope.event_id,
  correlationId: item.envelope.correlation_id,
});

/** The ids a log line carries: scalars for one message, lists for a run. */
function idsOf(concerned: readonly Concerned[]) {
  if (concerned.length === 1) {
    const [one] = concerned;
    return { correlationId: one?.correlationId, eventId: one?.eventId };
  }
  return {
    correlationIds: [...new Set(concerned.flatMap((c) => (c.correlationId ? [c.correlationId] : [])))],
    eventIds: concerned.flatMap((c) => (c.eventId ? [c.eventId] : [])),
  };
}

/** The ids of a message that did not pass the contracts, when its value is JSON that still has them. */
function rawIdsOf(value: Buffer | null): { eventId?: string; correlationId?: string } {
  if (!value) return {};
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { event_id: eventId, correlation_id: correlationId } = parsed as Record<string, unknown>;
    return {
      eventId: typeof eventId === 'string' ? eventId : undefined,
      correlationId: typeof correlationId === 'string' ? correlationId : undefined,
    };
  } catch {
    return {};
  }
}

function ageList(items: readonly PlannedMessage[], now: number): number[] {
  const ages: number[] = [];
  for (const item of items) {
    const age = ageOf(item.message, now);
    if (age !== undefined) ages.push(age);
  }
  return ages;
}

/**
 * Handles one fetched batch of one partition, in offset order (invariant 6): an offset is resolved only
 * after the database transaction of its message committed or the message was dead-lettered.
 * Unavailability is waited out for as long as the consumer runs; an unexpected failure is retried
 * `retryUnexpectedMax` times and then dead-lettered with the original bytes (invariant 10); when the
 * consumer stops, the rest stays unresolved and is redelivered.
 */
export function createBatchProcessor(options: BatchProcessorOptions): BatchHandler {
  const { handlers, logger } = options;
  const retryUnexpectedMax = options.retryUnexpectedMax ?? DEFAULT_RETRY_UNEXPECTED_MAX;
  const emit: ProcessorEventListener = options.onEvent ?? (() => undefined);

  const brokerFailure = (error: unknown): ClassifiedFailure => ({
    code: BROKER_UNAVAILABLE_CODE,
    retriable: true,
    message: error instanceof Error ? error.message : String(error),
    cause: error,
  });
  const databaseFailure = (error: unknown): ClassifiedFailure => ({
    ...options.classifyError(error),
    cause: error,
  });

  async function retry<T>(
    work: () => Promise<T>,
    classify: (e: unknown) => ClassifiedFailure,
    control: BatchControl,
    step: string,
    concerned: readonly Concerned[],
    maxBoundedAttempts = retryUnexpectedMax,
  ) {
    const first = concerned[0];
    const subject: RetrySubject = {
      step,
      topic: first?.message.topic ?? '',
      partition: first?.message.partition ?? -1,
      offset: first?.message.offset ?? '',
      eventId: first?.eventId,
      correlationId: first?.correlationId,
      messages: concerned.length,
    };
    let retried = false;
    try {
      return await retryWhileActive(work, classify, {
        maxBackoffMs: options.retryMaxBackoffMs,
        maxBoundedAttempts,
        isActive: control.isActive,
        heartbeat: control.heartbeat,
        sleep: options.sleep,
        onRetry(failure, attempt, delayMs) {
          retried = true;
          emit({ type: 'retry', reason: failure.code, subject, attempt });
          logger.warn(
            {
              ...idsOf(concerned),
              topic: subject.topic,
              partition: subject.partition,
              offset: subject.offset,
              messages: subject.messages,
              code: failure.code,
              policy: retryPolicyOf(failure),
              err: failure.message,
              attempt,
              delayMs,
              step,
            },
            'Retrying after a retriable failure',
          );
        },
      });
    } finally {
      if (retried) emit({ type: 'retry-ended', subject });
    }
  }

  async function deadLetter(letters: DeadLetter[], control: BatchControl): Promise<boolean> {
    const sent = await retry(
      () => options.publishDeadLetters(letters),
      brokerFailure,
      control,
      'dead-letter',
      letters,
    );
    if (!sent.done) return false;
    for (const letter of letters) {
      emit({ type: 'dead-lettered', code: letter.code });
      logger.warn(
        {
          code: letter.code,
          reason: letter.reason,
          correlationId: letter.correlationId,
          eventId: letter.eventId,
          topic: letter.message.topic,
          partition: letter.message.partition,
          offset: letter.message.offset,
        },
        'Message dead-lettered',
      );
    }
    return true;
  }

  const letterOf = (item: UsableMessage, { failure, attempts }: NonRetriableFailure): DeadLetter => ({
    message: item.message,
    code: failure.code,
    reason: attempts > 1 ? `${failure.message} (gave up after ${attempts} attempts)` : failure.message,
    eventId: item.envelope.event_id,
    correlationId: item.envelope.correlation_id,
  });

  function logContent(items: readonly UsableMessage[], outcomes: readonly ContentOutcome[]) {
    outcomes.forEach((outcome, index) => {
      const envelope = items[index]?.envelope;
      const fields = { ...outcome, correlationId: envelope?.correlation_id, eventId: envelope?.event_id };
      if (outcome.kind === 'excess') logger.info(fields, 'Content reported as excess');
      else if (outcome.kind === 'assigned' && outcome.completed)
        logger.info(fields, 'Slot assigned, batch completed');
      else logger.debug(fields, 'Content handled');
    });
  }

  /** Returns false when the consumer stopped before the step finished. */
  async function runStep(step: Step, control: BatchControl): Promise<boolean> {
    switch (step.kind) {
      case 'skip':
        return true;
      case 'dead-letter':
        return deadLetter(
          step.items.map(({ message, code, reason, eventId }) => {
            const raw = rawIdsOf(message.value);
            return {
              message,
              code,
              reason,
              eventId: eventId ?? raw.eventId,
              correlationId: raw.correlationId,
            };
          }),
          control,
        );
      case 'registration': {
        const [item] = step.items;
        const ids = {
          correlationId: item.envelope.correlation_id,
          eventId: item.envelope.event_id,
          batchId: item.envelope.data.entity_id,
        };
        const started = performance.now();
        const result = await retry(
          () => handlers.handleRegistration(item.envelope),
          databaseFailure,
          control,
          'registration',
          [concernedOf(item)],
        );
        if (!result.done) return false;
        const outcome = result.value;
        emit({ type: 'registration-handled', outcome, durationMs: performance.now() - started });
        if (outcome.kind === 'conflict') {
          return deadLetter(
            [
              {
                message: item.message,
                code: ESSAY_ID_CONFLICT_CODE,
                eventId: item.envelope.event_id,
                correlationId: item.envelope.correlation_id,
                reason: `essay ids already registered under another batch: ${outcome.essayIds.slice(0, 20).join(', ')}`,
              },
            ],
            control,
          );
        }
        logger.info(
          { ...ids, ...outcome },
          outcome.kind === 'duplicate' ? 'Registration already applied' : 'Batch registered',
        );
        return true;
      }
      case 'validation-failure': {
        const [item] = step.items;
        const started = performance.now();
        const result = await retry(
          () => handlers.handleValidationFailure(item.envelope),
          databaseFailure,
          control,
          'validation-failure',
          [concernedOf(item)],
        );
        if (!result.done) return false;
        emit({
          type: 'validation-failure-handled',
          outcome: result.value,
          durationMs: performance.now() - started,
        });
        logger.info(
          { ...result.value, correlationId: item.envelope.correlation_id, eventId: item.envelope.event_id },
          'Validation failure handled',
        );
        return true;
      }
      case 'content':
        return runContent(step.items, control);
    }
  }

  async function runContent(
    items: Extract<PlannedMessage, { kind: 'content' }>[],
    control: BatchControl,
  ): Promise<boolean> {
    const started = performance.now();
    const concerned = items.map(concernedOf);
    try {
      const result = await retry(
        () => handlers.handleContentBatch(items.map((i) => i.envelope)),
        databaseFailure,
        control,
        'content',
        concerned,
        // An unexpected failure of a run cannot be pinned on one event: split the run at once, so each
        // event gets its own bounded attempts and the valid ones are not held back by the guilty one.
        items.length > 1 ? 1 : retryUnexpectedMax,
      );
      if (!result.done) return false;
      emit({ type: 'content-handled', outcomes: result.value, durationMs: performance.now() - started });
      logContent(items, result.value);
      return true;
    } catch (error) {
      if (!(error instanceof NonRetriableFailure)) throw error;
      const [only] = items;
      if (items.length === 1 && only) return deadLetter([letterOf(only, error)], control);
      // One event of the run is unusable; find it by handling them one by one.
      logger.warn(
        {
          ...idsOf(concerned),
          code: error.failure.code,
          err: error.failure.message,
          count: items.length,
          topic: only?.message.topic,
          partition: only?.message.partition,
          offset: only?.message.offset,
        },
        'Content batch rejected, handling its events one by one',
      );
    }
    for (const item of items) {
      const one = performance.now();
      try {
        const result = await retry(
          () => handlers.handleContent(item.envelope),
          databaseFailure,
          control,
          'content',
          [concernedOf(item)],
        );
        if (!result.done) return false;
        emit({ type: 'content-handled', outcomes: [result.value], durationMs: performance.now() - one });
        logContent([item], [result.value]);
      } catch (error) {
        if (!(error instanceof NonRetriableFailure)) throw error;
        if (!(await deadLetter([letterOf(item, error)], control))) return false;
      }
    }
    return true;
  }

  async function runStepOrDeadLetter(step: Step, control: BatchControl): Promise<boolean> {
    try {
      return await runStep(step, control);
    } catch (error) {
      if (
        !(error instanceof NonRetriableFailure) ||
        (step.kind !== 'registration' && step.kind !== 'validation-failure')
      )
        throw error;
      return deadLetter([letterOf(step.items[0], error)], control);
    }
  }

  return async (messages: readonly InboundMessage[], control: BatchControl) => {
    const planned = messages.map((message) => planMessage(message, options.maxMessageBytes));
    const startedAt = Date.now();
    for (const item of planned) {
      emit({ type: 'consumed', event: labelOf[item.kind], waitedMs: ageOf(item.message, startedAt) });
    }
    const ids = planned.flatMap((item) => (item.kind === 'unusable' ? [] : [item.envelope.event_id]));
    const seen = await options.eventFilter.filterSeen(ids);
    for (const step of planSteps(planned, seen, options.maxContentBatch)) {
      if (!control.isActive()) return;
      if (!(await runStepOrDeadLetter(step, control))) return;
      control.resolveOffset(step.lastOffset);
      const settledAt = Date.now();
      if (step.kind !== 'skip') {
        const items: readonly PlannedMessage[] = step.items;
        emit({
          type: 'settled',
          event: labelOf[step.kind === 'dead-letter' ? 'unusable' : step.kind],
          agesMs: ageList(items, settledAt),
        });
      }
      if (step.skipped.length > 0)
        emit({ type: 'settled', event: 'skipped', agesMs: ageList(step.skipped, settledAt) });
      if (step.skipped.length > 0) {
        emit({ type: 'filtered', count: step.skipped.length });
        for (const item of step.skipped) {
          logger.debug(
            { correlationId: item.envelope.correlation_id, eventId: item.envelope.event_id },
            'Event already processed, skipped',
          );
        }
      }
      if (step.kind !== 'dead-letter' && step.kind !== 'skip') {
        await options.eventFilter.markSeen(step.items.map((item) => item.envelope.event_id));
      }
    }
  };
}
