import { waitFor } from '@els/test-kit';
import { stackFaults } from '@els/harness';
import {
  assignedCount,
  cleanOutcome,
  collectOutcome,
  sendTexts,
  startFullBatch,
  waitAssigned,
} from './batch-outcome';
import { useWorkerFixture } from './worker-fixture';

const SLOTS = 30;
const OUTAGE_MS = 10_000;

describe('PostgreSQL unavailable for ten seconds', () => {
  const openFixture = useWorkerFixture('pg-down', { restore: () => stackFaults.startPostgres() });

  it('retries the messages that arrived meanwhile: none skipped, none dead-lettered', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'pg-down', SLOTS, 10);

    let readinessDuringOutage;
    await stackFaults.stopPostgres();
    const stoppedAt = Date.now();
    try {
      await sendTexts(fixture, batch, batch.texts.slice(10));
      readinessDuringOutage = await waitFor(
        '/readyz to report the database down',
        async () => {
          const readiness = await fixture.cluster.readiness(0);
          return readiness.status !== 200 ? readiness : undefined;
        },
        { timeoutMs: OUTAGE_MS, intervalMs: 250 },
      );
      const remaining = OUTAGE_MS - (Date.now() - stoppedAt);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
    } finally {
      await stackFaults.startPostgres();
    }
    expect(readinessDuringOutage.body?.dependencies.database.ok).toBe(false);

    await waitFor(
      'the worker to be ready again',
      async () => (await fixture.cluster.readiness(0)).status === 200,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await waitAssigned(fixture, batch.batchId, SLOTS);
    expect(await assignedCount(fixture, batch.batchId)).toBe(SLOTS);
    expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});
