import type { ContentOutcome, RegistrationOutcome, ValidationFailureOutcome } from '../coordination-port';

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
  | { type: 'retry'; reason: string };

export type ProcessorEventListener = (event: ProcessorEvent) => void;
