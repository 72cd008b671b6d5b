import { TOPICS } from '@els/contracts';
import { makeContent, makeRegistration, toWire } from '@els/contracts/testing';
import { TEST_SERVER_URL, waitFor } from '@els/test-kit';
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { OUTPUT } from '@els/harness';
import { assignedCount, planFullBatch, waitAssigned } from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

const SLOTS = 6;

/** Drops the fixture's database and creates it again, empty, under the same name (the worker's URL). */
async function recreateDatabase(fixture: WorkerFixture): Promise<void> {
  const admin = postgres(`${TEST_SERVER_URL}/postgres`, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database "${fixture.db.name}" with (force)`);
    await admin.unsafe(`create database "${fixture.db.name}"`);
  } finally {
    await admin.end();
  }
}

async function publishedOutboxRowsMetric(fixture: WorkerFixture): Promise<number | undefined> {
  const { body } = await fixture.cluster.httpGet(0, '/metrics');
  const match = /^els_outbox_rows\{state="published"\} (\d+)$/m.exec(String(body));
  return match ? Number(match[1]) : undefined;
}

describe('a database recreated under a worker that kept its Redis', () => {
  // A short prune interval so the outbox row gauge follows the table within the test.
  const openFixture = useWorkerFixture('db-recreated', { env: { ELS_OUTBOX_PRUNE_INTERVAL_MS: '500' } });

  it('sees the replayed events again: Redis marks from the old database never skip them', async () => {
    const fixture = openFixture();
    const batch = planFullBatch('db-recreated', SLOTS);
    // Built once: the replay carries the same bytes, so the same event ids the pre-filter has seen.
    const registration = {
      key: batch.batchId,
      value: toWire(makeRegistration({ batchId: batch.batchId, essayIds: batch.essayIds })),
    };
    const contents = batch.texts.map((textStorageId) => ({
      key: randomUUID(),
      value: toWire(makeContent({ batchId: batch.batchId, textStorageId })),
    }));
    const sendAll = async () => {
      await fixture.send(TOPICS.batchEssaysRegistered, [registration]);
      await fixture.send(TOPICS.essayContentProvisioned, contents);
    };

    await sendAll();
    await waitAssigned(fixture, batch.batchId, SLOTS);
    await waitFor('the first completion event', () => fixture.collector.of(OUTPUT.completed).length === 1, {
      timeoutMs: 60_000,
    });
    // Every slot-assigned event and the completion are published rows now; the gauge shows them.
    await waitFor(
      'els_outbox_rows to count the published rows',
      async () => ((await publishedOutboxRowsMetric(fixture)) ?? 0) >= SLOTS + 1,
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    await fixture.cluster.stop();
    await recreateDatabase(fixture);
    await fixture.cluster.migrate();
    expect(await assignedCount(fixture, batch.batchId)).toBe(0);
    await fixture.cluster.start();

    await sendAll();
    await waitAssigned(fixture, batch.batchId, SLOTS, 60_000);
    await waitFor(
      'the completion event published again by the new database',
      () => fixture.collector.of(OUTPUT.completed).length >= 2,
      { timeoutMs: 60_000 },
    );
    const [registered] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from batches where batch_id = ${batch.batchId} and completed_at is not null`;
    expect(registered?.n).toBe(1);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});
