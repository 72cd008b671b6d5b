import type { ContentOutcome, EventHandlers } from '../coordination-port';
import type { Logger } from '../logger';
import type { EventFilter } from '../redis/event-filter';
import { planMessage, planSteps, type PlannedMessage, type Step, type UsableMessage } from './message-plan';
import type { BatchControl, BatchHandler, DeadLetter, InboundMessage } from './message-types';
import type { ProcessorEventListener } from './processor-events';
import { NonRetriableFailure, retryWhileActive, type ClassifiedFailure } from './retry-loop';

export const ESSAY_ID_CONFLICT_CODE = 'ELS_ERR_ESSAY_ID_CONFLICT';
export const BROKER_UNAVAILABLE_CODE = 'ELS_ERR_BROKER_UNAVAILABLE';

export interface BatchProcessorOptions {
  handlers: EventHandlers;
  classifyError(error: unknown): Omit<ClassifiedFailure, 'cause'>;
  eventFilter: Pick<EventFilter, 'filterSeen' | 'markSeen'>;
  publishDeadLetters(letters: readonly DeadLetter[]): Promise<void>;
  maxMessageBytes: number;
  maxContentBatch: number;
  retryMaxBackoffMs: number;
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
 * after the database transaction of its message committed or the message was dead-lettered; retriable
 * failures are waited out for as long as the consumer runs; when it stops, the rest stays unresolved and
 * is redelivered.
 */
export function createBatchProcessor(options: BatchProcessorOptions): BatchHandler {
  const { handlers, logger } = options;
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

  function retry<T>(
    work: () => Promise<T>,
    classify: (e: unknown) => ClassifiedFailure,
    control: BatchControl,
    what: string,
  ) {
    return retryWhileActive(work, classify, {
      maxBackoffMs: options.retryMaxBackoffMs,
      isActive: control.isActive,
      heartbeat: control.heartbeat,
      sleep: options.sleep,
      onRetry(failure, attempt, delayMs) {
        emit({ type: 'retry', reason: failure.code });
        logger.warn(
          { code: failure.code, err: failure.message, attempt, delayMs, step: what },
          'Retrying after a retriable failure',
        );
      },
    });
  }

  async function deadLetter(letters: DeadLetter[], control: BatchControl): Promise<boolean> {
    const sent = await retry(
      () => options.publishDeadLetters(letters),
      brokerFailure,
      control,
      'dead-letter',
    );
    if (!sent.done) return false;
    for (const letter of letters) {
      emit({ type: 'dead-lettered', code: letter.code });
      logger.warn(
        {
          code: letter.code,
          reason: letter.reason,
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

  const letterOf = (item: UsableMessage, failure: ClassifiedFailure): DeadLetter => ({
    message: item.message,
    code: failure.code,
    reason: failure.message,
    eventId: item.envelope.event_id,
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
          step.items.map(({ message, code, reason, eventId }) => ({ message, code, reason, eventId })),
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
    try {
      const result = await retry(
        () => handlers.handleContentBatch(items.map((i) => i.envelope)),
        databaseFailure,
        control,
        'content',
      );
      if (!result.done) return false;
      emit({ type: 'content-handled', outcomes: result.value, durationMs: performance.now() - started });
      logContent(items, result.value);
      return true;
    } catch (error) {
      if (!(error instanceof NonRetriableFailure)) throw error;
      // One event of the run is unusable; find it by handling them one by one.
      logger.warn(
        { code: error.failure.code, count: items.length },
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
        );
        if (!result.done) return false;
        emit({ type: 'content-handled', outcomes: [result.value], durationMs: performance.now() - one });
        logContent([item], [result.value]);
      } catch (error) {
        if (!(error instanceof NonRetriableFailure)) throw error;
        if (!(await deadLetter([letterOf(item, error.failure)], control))) return false;
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
      return deadLetter([letterOf(step.items[0], error.failure)], control);
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
