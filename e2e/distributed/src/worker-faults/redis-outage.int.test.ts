import { waitFor } from '@els/test-kit';
import { stackFaults } from '@els/harness';
import { cleanOutcome, collectOutcome, sendTexts, startFullBatch, waitAssigned } from './batch-outcome';
import { useWorkerFixture } from './worker-fixture';

const SLOTS = 30;

describe('Redis stopped while a worker processes', () => {
  const openFixture = useWorkerFixture('redis-down', { restore: () => stackFaults.startRedis() });

  it('keeps assigning, reports Redis degraded on /readyz and recovers when Redis returns', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'redis-down', SLOTS, 10);
    const before = await fixture.cluster.readiness(0);
    expect(before.body?.dependencies.redis).toEqual({ ok: true, degraded: false });

    // Other tests on this machine share this Redis: keep the outage to a few seconds.
    let degradedReadiness;
    await stackFaults.stopRedis();
    try {
      degradedReadiness = await waitFor(
        '/readyz to report Redis degraded',
        async () => {
          const readiness = await fixture.cluster.readiness(0);
          return readiness.body?.dependencies.redis.degraded ? readiness : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      await sendTexts(fixture, batch, batch.texts.slice(10, 20));
      await waitAssigned(fixture, batch.batchId, 20, 20_000);
    } finally {
      await stackFaults.startRedis();
    }
    // Degraded, not unready: the database guarantees alone keep the worker correct.
    expect(degradedReadiness.status).toBe(200);
    expect(degradedReadiness.body?.ready).toBe(true);

    await waitFor(
      '/readyz to report Redis healthy again',
      async () => (await fixture.cluster.readiness(0)).body?.dependencies.redis.degraded === false,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await sendTexts(fixture, batch, batch.texts.slice(20));
    expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});
