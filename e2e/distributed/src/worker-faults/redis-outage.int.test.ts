import { waitFor } from '@els/coordination/testing';
import { stackFaults } from '../harness/stack-control';
import {
  cleanOutcome,
  collectOutcome,
  planFullBatch,
  sendRegistration,
  sendTexts,
  waitAssigned,
} from './batch-outcome';
import { openWorkerFixture, type WorkerFixture } from './worker-fixture';

const SLOTS = 30;

describe('Redis stopped while a worker processes', () => {
  let fixture: WorkerFixture;

  beforeAll(async () => {
    fixture = await openWorkerFixture('redis-down');
  }, 180_000);

  afterAll(async () => {
    await stackFaults.startRedis();
    await fixture?.close();
  }, 90_000);

  it('keeps assigning, reports Redis degraded on /readyz and recovers when Redis returns', async () => {
    const batch = planFullBatch('redis-down', SLOTS);
    await sendRegistration(fixture, batch);
    await sendTexts(fixture, batch, batch.texts.slice(0, 10));
    await waitAssigned(fixture, batch.batchId, 10);
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
