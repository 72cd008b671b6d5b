import { backoffDelayMs, NonRetriableFailure, retryWhileActive } from './retry-loop';

const retriable = (error: unknown) => ({
  code: 'ELS_ERR_X',
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
});
