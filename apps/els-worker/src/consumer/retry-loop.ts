/**
 * How often a failure may be retried: `unbounded` (unavailability: database, broker or Redis down, a lock
 * or statement timeout), `bounded` (unexpected: retried `maxBoundedAttempts` times, then given up), `never`
 * (the message is refused for a permanent reason).
 */
export type RetryPolicy = 'unbounded' | 'bounded' | 'never';

/** What the retry loop needs to know about a failure; produced by one classifier per call site. */
export interface ClassifiedFailure {
  readonly code: string;
  /** False exactly when the policy is `never`. */
  readonly retriable: boolean;
  /** Defaults to `unbounded` when retriable, `never` otherwise. */
  readonly retry?: RetryPolicy;
  readonly message: string;
  readonly cause: unknown;
}

/** The policy of a failure; `retriable` wins over a contradicting `retry`. */
export function retryPolicyOf(failure: Pick<ClassifiedFailure, 'retriable' | 'retry'>): RetryPolicy {
  if (!failure.retriable) return 'never';
  return failure.retry === 'bounded' ? 'bounded' : 'unbounded';
}

/**
 * A failure the loop will not retry (any more): refused input, or an unexpected failure that used up its
 * attempts. The caller dead-letters the message.
 */
export class NonRetriableFailure extends Error {
  override readonly name = 'NonRetriableFailure';
  constructor(
    readonly failure: ClassifiedFailure,
    /** Attempts made, all of them failed. */
    readonly attempts = 1,
  ) {
    super(failure.message, { cause: failure.cause });
  }
}

export interface RetryLoopOptions {
  /** Ceiling of one wait (`ELS_RETRY_MAX_BACKOFF_MS`). */
  maxBackoffMs: number;
  initialBackoffMs?: number;
  /** Checked before every attempt and during waits; false stops the loop without a result. */
  isActive(): boolean;
  /**
   * Attempts that may fail with the bounded policy before the loop gives up (`ELS_RETRY_UNEXPECTED_MAX`;
   * default 1). Counted over the whole loop: failures of other policies in between neither count nor
   * reset the count, so an outage cannot extend the bound and cannot use it up.
   */
  maxBoundedAttempts?: number;
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
 * Runs `work` until it succeeds, for as long as the consumer is active: unavailability (database, Redis or
 * broker down) is never skipped and never dead-lettered, only waited out. A failure with the bounded
 * policy is retried until `maxBoundedAttempts` attempts failed with it, then thrown as NonRetriableFailure,
 * as a non-retriable one is at once. Returns `{ done: false }` when the consumer stops first, so the caller
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
  const maxBounded = options.maxBoundedAttempts ?? 1;
  let boundedFailures = 0;
  for (let attempt = 1; ; attempt++) {
    if (!options.isActive()) return { done: false };
    try {
      return { done: true, value: await work() };
    } catch (error) {
      const failure = classify(error);
      const policy = retryPolicyOf(failure);
      if (policy === 'never') throw new NonRetriableFailure(failure, attempt);
      if (policy === 'bounded' && ++boundedFailures >= maxBounded)
        throw new NonRetriableFailure(failure, attempt);
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
