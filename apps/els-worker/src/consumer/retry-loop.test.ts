import type { ClassifiedFailure } from '@els/coordination';
import { backoffDelayMs, NonRetriableFailure, retryWhileActive, type RetryLoopOptions } from './retry-loop';

const retriable = (error: unknown): ClassifiedFailure => ({
  code: 'ELS_ERR_DATABASE_UNAVAILABLE',
  retriable: true,
  message: String(error),
  cause: error,
});

describe('retry loop', () => {
  it('grows the backoff exponentially and caps it at the maximum', () => {
    expect(backoffDelayMs(1, 100, 5000, () => 0)).toBe(50);
    expect(backoffDelayMs(1, 100, 5000, () => 1)).toBe(100);
    expect(backoffDelayMs(4, 100, 5000, () => 1)).toBe(800);
    expect(backoffDelayMs(30, 100, 5000, () => 1)).toBe(5000);
  });

  it('heartbeats while it waits out a retriable failure', async () => {
    let attempts = 0;
    let heartbeats = 0;
    const outcome = await retryWhileActive(
      async () => {
        if (++attempts < 3) throw new Error('down');
        return 'ok';
      },
      retriable,
      {
        maxBackoffMs: 3000,
        initialBackoffMs: 3000,
        isActive: () => true,
        heartbeat: async () => void heartbeats++,
        onRetry: () => undefined,
        sleep: async () => undefined,
        random: () => 1,
      },
    );
    expect(outcome).toEqual({ done: true, value: 'ok' });
    expect(heartbeats).toBe(6);
  });

  it('throws a non-retriable failure at once', async () => {
    await expect(
      retryWhileActive(
        async () => Promise.reject(new Error('bad')),
        (e) => ({ ...retriable(e), retriable: false }),
        {
          maxBackoffMs: 10,
          isActive: () => true,
          heartbeat: async () => undefined,
          onRetry: () => undefined,
        },
      ),
    ).rejects.toBeInstanceOf(NonRetriableFailure);
  });

  describe('bounded and unbounded retries', () => {
    class Unexpected extends Error {}
    class Unavailable extends Error {}
    const classify = (error: unknown): ClassifiedFailure =>
      error instanceof Unexpected
        ? { code: 'ELS_ERR_INTERNAL', retriable: true, retry: 'bounded', message: 'bug', cause: error }
        : { code: 'ELS_ERR_DATABASE_UNAVAILABLE', retriable: true, message: 'down', cause: error };
    const options = (maxBoundedAttempts: number): RetryLoopOptions => ({
      maxBackoffMs: 10,
      maxBoundedAttempts,
      isActive: () => true,
      heartbeat: async () => undefined,
      onRetry: () => undefined,
      sleep: async () => undefined,
    });
    /** Work that fails with the given sequence ('B' unexpected, 'U' unavailable), then succeeds. */
    function scripted(sequence: string) {
      let calls = 0;
      return {
        calls: () => calls,
        work: async () => {
          const next = sequence[calls++];
          if (next === 'B') throw new Unexpected('bug');
          if (next === 'U') throw new Unavailable('down');
          return 'ok';
        },
      };
    }

    it('gives up an unexpected failure after the configured number of attempts', async () => {
      const work = scripted('BBBBBBBBBB');
      const outcome = retryWhileActive(work.work, classify, options(3));
      await expect(outcome).rejects.toBeInstanceOf(NonRetriableFailure);
      await expect(outcome).rejects.toMatchObject({ attempts: 3, failure: { code: 'ELS_ERR_INTERNAL' } });
      expect(work.calls()).toBe(3);
    });

    it('succeeds when an unexpected failure clears before the bound', async () => {
      const work = scripted('BB');
      expect(await retryWhileActive(work.work, classify, options(3))).toEqual({ done: true, value: 'ok' });
      expect(work.calls()).toBe(3);
    });

    it('retries unavailability a thousand times without ever giving up', async () => {
      const work = scripted('U'.repeat(1000));
      let retries = 0;
      const outcome = await retryWhileActive(work.work, classify, {
        ...options(1),
        onRetry: () => void retries++,
      });
      expect(outcome).toEqual({ done: true, value: 'ok' });
      expect(retries).toBe(1000);
    });

    it('does not count unavailability between unexpected failures toward the bound', async () => {
      const work = scripted(`B${'U'.repeat(200)}B${'U'.repeat(200)}`);
      expect(await retryWhileActive(work.work, classify, options(3))).toEqual({ done: true, value: 'ok' });
      expect(work.calls()).toBe(403);
    });

    it('counts every unexpected failure of the loop, also when unavailability came between them', async () => {
      const work = scripted('BUUBUUUBUU');
      await expect(retryWhileActive(work.work, classify, options(3))).rejects.toMatchObject({
        attempts: 8,
        failure: { code: 'ELS_ERR_INTERNAL' },
      });
      expect(work.calls()).toBe(8);
    });

    describe('before giving up, the database proves it is writable and the failure reproduces', () => {
      const outage: ClassifiedFailure = {
        code: 'ELS_ERR_DATABASE_READ_ONLY',
        retriable: true,
        message: 'write probe: read-only',
        cause: undefined,
      };
      /** A probe that answers from a script: 'W' writable, 'R' read-only. */
      function probe(answers: string) {
        let calls = 0;
        return {
          calls: () => calls,
          verify: async () => (answers[calls++] === 'R' ? outage : undefined),
        };
      }

      it('keeps retrying an unexpected failure for as long as the probe finds the database read-only', async () => {
        const work = scripted('B'.repeat(50));
        const database = probe('R'.repeat(48));
        const codes: string[] = [];
        const outcome = await retryWhileActive(work.work, classify, {
          ...options(3),
          verifyBeforeGivingUp: database.verify,
          onRetry: (failure) => void codes.push(failure.code),
        });
        expect(outcome).toEqual({ done: true, value: 'ok' });
        expect(work.calls()).toBe(51);
        expect(codes.filter((code) => code === 'ELS_ERR_DATABASE_READ_ONLY')).toHaveLength(48);
      });

      it('gives up only when the failure happens again after a probe that found the database writable', async () => {
        const work = scripted('BBBBBBBBBB');
        const database = probe('WW');
        const outcome = retryWhileActive(work.work, classify, {
          ...options(3),
          verifyBeforeGivingUp: database.verify,
        });
        await expect(outcome).rejects.toMatchObject({ attempts: 4, failure: { code: 'ELS_ERR_INTERNAL' } });
        expect(database.calls()).toBe(2);
      });

      it('succeeds when the attempt after a passing probe succeeds', async () => {
        const work = scripted('BBB');
        const database = probe('W');
        expect(
          await retryWhileActive(work.work, classify, {
            ...options(3),
            verifyBeforeGivingUp: database.verify,
          }),
        ).toEqual({ done: true, value: 'ok' });
      });

      it('probes a permanent refusal too, and retries it while the database is read-only', async () => {
        let calls = 0;
        const database = probe('RRW');
        const outcome = retryWhileActive(
          async () => {
            calls += 1;
            throw new Error('refused');
          },
          (error) => ({ code: 'ELS_ERR_DATABASE_REJECTED', retriable: false, message: 'no', cause: error }),
          { ...options(1), verifyBeforeGivingUp: database.verify, requireReproduction: false },
        );
        await expect(outcome).rejects.toMatchObject({ failure: { code: 'ELS_ERR_DATABASE_REJECTED' } });
        expect(calls).toBe(3);
        expect(database.calls()).toBe(3);
      });
    });
  });
});
