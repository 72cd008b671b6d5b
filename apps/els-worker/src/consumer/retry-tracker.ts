import type { ProcessorEvent } from './processor-events';

/** The messages one retry loop is working on, named by the first of them. */
export interface RetrySubject {
  /** What is retried: `registration`, `content`, `validation-failure` or `dead-letter`. */
  readonly step: string;
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first message concerned. */
  readonly offset: string;
  readonly eventId?: string;
  readonly correlationId?: string;
  /** Messages the loop works on (a content run: several, from `offset` on). */
  readonly messages: number;
}

/** A message waiting in a retry, as /readyz shows it. */
export interface RetryingMessage extends RetrySubject {
  /** Code of the last failure. */
  readonly code: string;
  /** Attempts made so far, all failed. */
  readonly attempts: number;
  /** When its first attempt failed (ISO-8601). */
  readonly since: string;
  readonly ageMs: number;
}

export interface RetryTracker {
  /** Subscribes to the processor's `retry` and `retry-ended` events. */
  observe(event: ProcessorEvent): void;
  /** The messages waiting in a retry now, oldest first. */
  list(): RetryingMessage[];
}

/**
 * Which messages are waiting in a retry, and since when. Each partition runs one retry loop at a time, so
 * the list is at most as long as the number of partitions in flight.
 */
export function createRetryTracker(clock: () => number = Date.now): RetryTracker {
  const waiting = new Map<RetrySubject, { code: string; attempts: number; sinceMs: number }>();
  return {
    observe(event) {
      if (event.type === 'retry') {
        const entry = waiting.get(event.subject);
        waiting.set(event.subject, {
          code: event.reason,
          attempts: event.attempt,
          sinceMs: entry?.sinceMs ?? clock(),
        });
      } else if (event.type === 'retry-ended') {
        waiting.delete(event.subject);
      }
    },
    list() {
      const now = clock();
      return [...waiting]
        .map(([subject, entry]) => ({
          ...subject,
          code: entry.code,
          attempts: entry.attempts,
          since: new Date(entry.sinceMs).toISOString(),
          ageMs: Math.max(0, now - entry.sinceMs),
        }))
        .sort((a, b) => b.ageMs - a.ageMs);
    },
  };
}
