import type { ContentOutcome, RegistrationOutcome, ValidationFailureOutcome } from '../coordination-port';
import type { RetrySubject } from './retry-tracker';

/** Label of an input message for metrics: its event, or `invalid` when it did not parse. */
export type EventLabel = 'registration' | 'content' | 'validation_failure' | 'invalid';

/**
 * What the batch processor reports as it works. Metrics and any other observer subscribe to these
 * instead of being called from inside the processing logic.
 */
export type ProcessorEvent =
  | {
      type: 'consumed';
      event: EventLabel;
      /** record timestamp → handed to the processor */ waitedMs?: number;
    }
  | {
      type: 'settled';
      event: EventLabel | 'skipped';
      /** record timestamp → outcome committed (offset resolved), one per message of the step */
      agesMs: readonly number[];
    }
  | { type: 'filtered'; count: number }
  | { type: 'registration-handled'; outcome: RegistrationOutcome; durationMs: number }
  | { type: 'content-handled'; outcomes: readonly ContentOutcome[]; durationMs: number }
  | { type: 'validation-failure-handled'; outcome: ValidationFailureOutcome; durationMs: number }
  | { type: 'dead-lettered'; code: string }
  /**
   * The dead-letter topic refused a letter for good: a reference letter was written instead, or (refused
   * too) the partition stopped at the message.
   */
  | { type: 'dead-letter-refused'; outcome: 'reference' | 'stopped' }
  /** An attempt failed and will be retried; `subject` is the same object for every retry of one loop. */
  | { type: 'retry'; reason: string; subject: RetrySubject; attempt: number }
  /** The retry loop of `subject` ended (succeeded, gave up or stopped). */
  | { type: 'retry-ended'; subject: RetrySubject };

export type ProcessorEventListener = (event: ProcessorEvent) => void;
