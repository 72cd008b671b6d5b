import { waitFor } from '@els/test-kit';
import { startFullBatch, sendTexts } from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

const SLOTS = 4;
const RETENTION_MS = 1000;

/** Rows left in the fixture database's outbox. */
async function outboxRows(fixture: WorkerFixture): Promise<number> {
  const [row] = await fixture.db.sql<{ n: number }[]>`select count(*)::int as n from outbox`;
  return row?.n ?? 0;
}

describe('the worker prunes its published outbox rows (invariant 12)', () => {
  const openFixture = useWorkerFixture('retention', {
    env: { ELS_OUTBOX_RETENTION_MS: String(RETENTION_MS), ELS_OUTBOX_PRUNE_INTERVAL_MS: '200' },
  });

  it('deletes every published row once its retention has passed, and every event reached its topic first', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'retention', SLOTS, SLOTS - 1);
    await sendTexts(fixture, batch, batch.texts.slice(SLOTS - 1));
    // Slots assigned and the completion: SLOTS + 1 events, each published before its row may go.
    await waitFor(
      'the batch’s events on their topics',
      () => fixture.collector.messages.length >= SLOTS + 1,
      {
        timeoutMs: 60_000,
      },
    );
    await waitFor('the outbox pruned', async () => (await outboxRows(fixture)) === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });
});
