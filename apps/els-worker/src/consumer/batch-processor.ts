import { createHash } from 'node:crypto';
import { ERROR_CODES, failureOf, retryPolicyOf, type ClassifiedFailure } from '@els/coordination';
import type { ContentOutcome, EventHandlers } from '../coordination-port';
import type { Logger } from '../logger';
import type { EventFilter } from '../redis/event-filter';
import { planMessage, planSteps, type PlannedMessage, type Step, type UsableMessage } from './message-plan';
import type { BatchControl, BatchHandler, DeadLetter, InboundMessage } from './message-types';
import type { ProcessorEventListener } from './processor-events';
import { NonRetriableFailure, retryWhileActive } from './retry-loop';
import type { RetrySubject } from './retry-tracker';

const DEFAULT_RETRY_UNEXPECTED_MAX = 5;

/** A letter whose reference letter the dead-letter topic refused too: its partition cannot move on. */
class DeadLetterRefused extends Error {
  override readonly name = 'DeadLetterRefused';
  constructor(
    readonly letter: DeadLetter,
    cause: unknown,
  ) {
    super(
      `the dead-letter topic refuses the letter of ${letter.message.topic}[${letter.message.partition}]@${letter.message.offset} and its reference letter: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

/** What a reference letter says about the value it could not carry. */
function referenceOf(message: InboundMessage, refusal: string): NonNullable<DeadLetter['reference']> {
  const value = message.value ?? Buffer.alloc(0);
  return {
    valueSha256: createHash('sha256').update(value).digest('hex'),
    valueBytes: value.byteLength,
    refusal,
  };
}

export interface BatchProcessorOptions {
  handlers: EventHandlers;
  /** The classification of what a database handler threw. */
  classifyError(error: unknown): ClassifiedFailure;
  /**
   * Asked before a message is dead-lettered (or a content run split) for a database failure: the outage
   * a write probe found, or undefined when the database took the write (see `retryWhileActive`). Without
   * it, failures give up by their policy alone.
   */
  verifyDatabase?(failure: ClassifiedFailure): Promise<ClassifiedFailure | undefined>;
  eventFilter: Pick<EventFilter, 'filterSeen' | 'markSeen'>;
  publishDeadLetters(letters: readonly DeadLetter[]): Promise<void>;
  /**
   * True when a dead-letter publish failed because the topic refuses these letters for good (a letter
   * above its size limit, no permission), not because the broker is away. Such letters are written again
   * as reference letters (headers, no value); default: nothing is permanent, every failure is retried.
   */
  isPermanentBrokerRefusal?(error: unknown): boolean;
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

  const databaseFailure = options.classifyError;

  async function retry<T>(
    work: () => Promise<T>,
    classify: (e: unknown) => ClassifiedFailure,
    control: BatchControl,
    step: string,
    concerned: readonly Concerned[],
    settings: { maxBoundedAttempts?: number; verify?: boolean; requireReproduction?: boolean } = {},
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
        maxBoundedAttempts: settings.maxBoundedAttempts ?? retryUnexpectedMax,
        ...(settings.verify && options.verifyDatabase
          ? {
              verifyBeforeGivingUp: options.verifyDatabase,
              requireReproduction: settings.requireReproduction,
            }
          : {}),
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

  /**
   * Publishes letters; a request the dead-letter topic refuses for good is split into single letters, and
   * a single refused letter is written as a reference letter (its headers and the value's SHA-256 and
   * size, no value: the original stays at its source offset for the input topic's retention). A reference
   * letter refused as well throws DeadLetterRefused: the partition stops there, retried without limit and
   * named by /readyz, because moving on would lose the message without a trace.
   */
  async function publishLetters(letters: readonly DeadLetter[]): Promise<void> {
    try {
      await options.publishDeadLetters(letters);
      return;
    } catch (error) {
      if (!options.isPermanentBrokerRefusal?.(error)) throw error;
      const [only] = letters;
      if (letters.length > 1 || !only) {
        for (const letter of letters) await publishLetters([letter]);
        return;
      }
      if (only.reference) throw new DeadLetterRefused(only, error);
      const refusal = error instanceof Error ? error.message : String(error);
      await publishLetters([{ ...only, reference: referenceOf(only.message, refusal) }]);
      emit({ type: 'dead-letter-refused', outcome: 'reference' });
      logger.error(
        {
          code: only.code,
          eventId: only.eventId,
          correlationId: only.correlationId,
          topic: only.message.topic,
          partition: only.message.partition,
          offset: only.message.offset,
          valueBytes: only.message.value?.byteLength ?? 0,
          err: refusal,
        },
        'Dead-letter topic refused the letter; wrote a reference letter without the value',
      );
    }
  }

  // A refusal for good (too large, not allowed: see `isPermanentBrokerRefusal`) stops the partition; anything
  // else is the broker being away.
  const deadLetterFailure = (error: unknown): ClassifiedFailure =>
    error instanceof DeadLetterRefused
      ? { ...failureOf(ERROR_CODES.deadLetterRefused, error), cause: error.cause }
      : failureOf(ERROR_CODES.brokerUnavailable, error);

  async function deadLetter(letters: DeadLetter[], control: BatchControl): Promise<boolean> {
    let stopped = false;
    const sent = await retry(
      async () => {
        try {
          await publishLetters(letters);
        } catch (error) {
          if (error instanceof DeadLetterRefused && !stopped) {
            stopped = true;
            emit({ type: 'dead-letter-refused', outcome: 'stopped' });
            logger.error(
              {
                topic: error.letter.message.topic,
                partition: error.letter.message.partition,
                offset: error.letter.message.offset,
                err: error.message,
              },
              'Dead-letter topic refuses even the reference letter; the partition stops here until it is fixed',
            );
          }
          throw error;
        }
      },
      deadLetterFailure,
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

  /**
   * Returns false when the consumer stopped before the step finished. Pushes onto `committed` the event id
   * of every message whose database transaction committed: only those are marked seen in Redis, never a
   * dead-lettered one, so a replayed dead letter is processed (invariant 10).
   */
  async function runStep(step: Step, control: BatchControl, committed: string[]): Promise<boolean> {
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
          { verify: true },
        );
        if (!result.done) return false;
        const outcome = result.value;
        emit({ type: 'registration-handled', outcome, durationMs: performance.now() - started });
        if (outcome.kind === 'conflict') {
          return deadLetter(
            [
              {
                message: item.message,
                code: ERROR_CODES.essayIdConflict,
                eventId: item.envelope.event_id,
                correlationId: item.envelope.correlation_id,
                reason: `essay ids already registered under another batch: ${outcome.essayIds.slice(0, 20).join(', ')}`,
              },
            ],
            control,
          );
        }
        committed.push(item.envelope.event_id);
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
          { verify: true },
        );
        if (!result.done) return false;
        committed.push(item.envelope.event_id);
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
        return runContent(step.items, control, committed);
    }
  }

  async function runContent(
    items: Extract<PlannedMessage, { kind: 'content' }>[],
    control: BatchControl,
    committed: string[],
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
        // An unexpected failure of a run cannot be pinned on one event: split the run at once (once the
        // database proved it is writable), so each event gets its own bounded attempts and the valid ones
        // are not held back by the guilty one.
        items.length > 1
          ? { maxBoundedAttempts: 1, verify: true, requireReproduction: false }
          : { verify: true },
      );
      if (!result.done) return false;
      for (const item of items) committed.push(item.envelope.event_id);
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
          { verify: true },
        );
        if (!result.done) return false;
        committed.push(item.envelope.event_id);
        emit({ type: 'content-handled', outcomes: [result.value], durationMs: performance.now() - one });
        logContent([item], [result.value]);
      } catch (error) {
        if (!(error instanceof NonRetriableFailure)) throw error;
        if (!(await deadLetter([letterOf(item, error)], control))) return false;
      }
    }
    return true;
  }

  async function runStepOrDeadLetter(
    step: Step,
    control: BatchControl,
    committed: string[],
  ): Promise<boolean> {
    try {
      return await runStep(step, control, committed);
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
    let first = true;
    for (const step of planSteps(planned, seen, options.maxContentBatch)) {
      if (!control.isActive()) return;
      // A fetch can hold many steps' work; on a slow database they add up past the session timeout, and a
      // member silent that long is evicted mid-batch while its peers wait in JoinGroup. kafkajs throttles
      // the heartbeat to its interval, so asking between steps is cheap; it throws once the group
      // rebalances, leaving the rest unresolved for the partition's next owner.
      if (!first) await control.heartbeat();
      first = false;
      const committed: string[] = [];
      if (!(await runStepOrDeadLetter(step, control, committed))) return;
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
      if (committed.length > 0) await options.eventFilter.markSeen(committed);
    }
  };
}
