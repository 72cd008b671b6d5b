import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('returns the first value the check yields that is neither undefined nor false', async () => {
    let calls = 0;
    const value = await waitFor(
      'the third poll',
      () => {
        calls += 1;
        return calls >= 3 ? { calls } : false;
      },
      { intervalMs: 1 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it('accepts falsy values other than undefined and false', async () => {
    await expect(waitFor('zero', () => 0, { intervalMs: 1 })).resolves.toBe(0);
    await expect(waitFor('empty text', async () => '', { intervalMs: 1 })).resolves.toBe('');
  });

  it('keeps polling through a check that throws', async () => {
    let calls = 0;
    const value = await waitFor(
      'a check that recovers',
      () => {
        calls += 1;
        if (calls < 2) throw new Error('not yet');
        return 'ready';
      },
      { intervalMs: 1 },
    );
    expect(value).toBe('ready');
  });

  it('fails with the description after the timeout', async () => {
    await expect(
      waitFor('a condition that never holds', () => undefined, { timeoutMs: 20, intervalMs: 5 }),
    ).rejects.toThrow('timed out after 20 ms waiting for a condition that never holds');
  });

  it('names the last error of the check when it times out', async () => {
    await expect(
      waitFor(
        'a failing check',
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow('waiting for a failing check (last error: connection refused)');
  });
});
