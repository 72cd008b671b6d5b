import { retryPolicyOf, type ClassifiedFailure } from '@els/coordination';

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
  /**
   * Asked before the loop gives up on a failure (policy `never`, or `bounded` with its attempts used up):
   * resolves to the outage it found (the database refuses a write now) or undefined when the database
   * proved it is writable. An outage is retried like unavailability, so a failure nobody classified as an
   * outage still cannot give up during one (invariant 6). Without it the loop gives up at once.
   */
  verifyBeforeGivingUp?(failure: ClassifiedFailure): Promise<ClassifiedFailure | undefined>;
  /**
   * With `verifyBeforeGivingUp`: give up only when the failure happened again after a passing probe
   * (default true). False gives up after the first passing probe (a content run that is split, not dropped).
   */
  requireReproduction?: boolean;
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
 * policy is retried until `maxBoundedAttempts` attempts failed with it, a non-retriable one is not
 * retried; either is then thrown as NonRetriableFailure, once `verifyBeforeGivingUp` (when given) found
 * no outage and the failure reproduced after that proof. Returns `{ done: false }` when the consumer stops
 * first, so the caller leaves the offset unresolved and the message is redelivered.
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
  const requireReproduction = options.requireReproduction ?? true;
  let boundedFailures = 0;
  // A probe found the database writable after an earlier failure of this loop that would have given up.
  let provedWritable = false;
  for (let attempt = 1; ; attempt++) {
    if (!options.isActive()) return { done: false };
    try {
      return { done: true, value: await work() };
    } catch (error) {
      let failure = classify(error);
      const policy = retryPolicyOf(failure);
      if (policy === 'never' || (policy === 'bounded' && ++boundedFailures >= maxBounded)) {
        const verify = options.verifyBeforeGivingUp;
        if (!verify) throw new NonRetriableFailure(failure, attempt);
        if (!options.isActive()) return { done: false };
        const outage = await verify(failure);
        if (outage) {
          failure = outage;
          provedWritable = false;
        } else if (provedWritable || !requireReproduction) {
          throw new NonRetriableFailure(failure, attempt);
        } else {
          provedWritable = true;
        }
      }
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
