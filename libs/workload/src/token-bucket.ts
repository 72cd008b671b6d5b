import type { Clock } from './clock';

export interface TokenBucket {
  /** Waits until `count` events may go out at the configured rate; resolves with the time waited (ms). */
  take(count: number): Promise<number>;
}

export interface TokenBucketOptions {
  /** Events per second; 0 means no limit (flat out). */
  ratePerSec: number;
  /** Events that may go out at once after an idle period; defaults to a tenth of a second's worth. */
  burst?: number;
}

/**
 * A token bucket that may go into debt: taking more than is available is allowed and the caller then
 * sleeps until the debt is repaid, so chunks larger than the burst still average out to the rate.
 */
export function createTokenBucket(options: TokenBucketOptions, clock: Clock): TokenBucket {
  const { ratePerSec } = options;
  if (!(ratePerSec >= 0) || !Number.isFinite(ratePerSec)) {
    throw new RangeError(`rate must be a finite number >= 0, got ${ratePerSec}`);
  }
  const burst = options.burst ?? Math.max(1, ratePerSec / 10);
  let tokens = burst;
  let refilledAt = clock.now();

  const refill = () => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + ((now - refilledAt) * ratePerSec) / 1000);
    refilledAt = now;
  };

  return {
    async take(count) {
      if (ratePerSec === 0) return 0;
      refill();
      tokens -= count;
      if (tokens >= 0) return 0;
      const waitMs = (-tokens * 1000) / ratePerSec;
      await clock.sleep(waitMs);
      return waitMs;
    },
  };
}
