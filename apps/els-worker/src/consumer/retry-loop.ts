/** What the retry loop needs to know about a failure; produced by one classifier per call site. */
export interface ClassifiedFailure {
  readonly code: string;
  readonly retriable: boolean;
  readonly message: string;
  readonly cause: unknown;
}

/** A failure retrying cannot fix (bad input, a conflict); the caller dead-letters the message. */
export class NonRetriableFailure extends Error {
  override readonly name = 'NonRetriableFailure';
  constructor(readonly failure: ClassifiedFailure) {
    super(failure.message, { cause: failure.cause });
  }
}

export interface RetryLoopOptions {
  /** Ceiling of one wait (`ELS_RETRY_MAX_BACKOFF_MS`). */
  maxBackoffMs: number;
  initialBackoffMs?: number;
  /** Checked before every attempt and during waits; false stops the loop without a result. */
  isActive(): boolean;
  /** Called between attempts so a long outage does not cost the group membership. */
  heartbeat(): Promise<void>;
  onRetry(failure: ClassifiedFailure, attempt: number, delayMs: number): void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export type RetryOutcome<T> = { done: true; value: T } | { done: false };

const HEARTBEAT_SLICE_MS = 1000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: half the window fixed, half random, capped at `maxBackoffMs`. */
export function backoffDelayMs(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number,
): number {
  const window = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(window / 2 + random() * (window / 2));
}

/**
 * Runs `work` until it succeeds, for as long as the consumer is active: a retriable failure (database,
 * Redis or broker down) is never skipped and never dead-lettered, only waited out. A non-retriable one is
 * thrown as NonRetriableFailure. Returns `{ done: false }` when the consumer stops first, so the caller
 * leaves the offset unresolved and the message is redelivered.
 */
export async function retryWhileActive<T>(
  work: () => Promise<T>,
  classify: (error: unknown) => ClassifiedFailure,
  options: RetryLoopOptions,
): Promise<RetryOutcome<T>> {
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const initial = options.initialBackoffMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    if (!options.isActive()) return { done: false };
    try {
      return { done: true, value: await work() };
    } catch (error) {
      const failure = classify(error);
      if (!failure.retriable) throw new NonRetriableFailure(failure);
      const delayMs = backoffDelayMs(attempt, initial, options.maxBackoffMs, random);
      options.onRetry(failure, attempt, delayMs);
      for (let waited = 0; waited < delayMs; waited += HEARTBEAT_SLICE_MS) {
        if (!options.isActive()) return { done: false };
        await sleep(Math.min(HEARTBEAT_SLICE_MS, delayMs - waited));
        await options.heartbeat();
      }
    }
  }
}
