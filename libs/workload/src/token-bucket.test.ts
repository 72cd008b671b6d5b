import type { Clock } from './clock';
import { createTokenBucket } from './token-bucket';

function createFakeClock(): Clock & { slept: number[] } {
  let now = 1_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('token bucket', () => {
  it('lets the burst through, then paces to the rate', async () => {
    const clock = createFakeClock();
    const bucket = createTokenBucket({ ratePerSec: 100, burst: 10 }, clock);
    expect(await bucket.take(10)).toBe(0);
    expect(await bucket.take(10)).toBeCloseTo(100);
    expect(await bucket.take(50)).toBeCloseTo(500);
  });

  it('averages out to the rate over many takes', async () => {
    const clock = createFakeClock();
    const start = clock.now();
    const bucket = createTokenBucket({ ratePerSec: 1000 }, clock);
    for (let i = 0; i < 100; i += 1) await bucket.take(50);
    const elapsedMs = clock.now() - start;
    // 5000 events at 1000/s: 5 s minus the initial burst of 100 events.
    expect(elapsedMs).toBeCloseTo(4900, 0);
  });

  it('refills while the caller is busy elsewhere', async () => {
    const clock = createFakeClock();
    const bucket = createTokenBucket({ ratePerSec: 10, burst: 5 }, clock);
    await bucket.take(5);
    await clock.sleep(300);
    expect(await bucket.take(3)).toBe(0);
    expect(await bucket.take(1)).toBeCloseTo(100);
  });

  it('never waits when the rate is 0 (flat out)', async () => {
    const clock = createFakeClock();
    const bucket = createTokenBucket({ ratePerSec: 0 }, clock);
    expect(await bucket.take(1_000_000)).toBe(0);
    expect(clock.slept).toEqual([]);
  });

  it('rejects a negative rate', () => {
    expect(() => createTokenBucket({ ratePerSec: -1 }, createFakeClock())).toThrow(RangeError);
  });
});
