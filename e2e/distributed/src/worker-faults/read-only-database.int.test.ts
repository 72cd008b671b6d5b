import { waitFor } from '@els/test-kit';
import { OUTPUT } from '@els/harness';
import {
  assignedCount,
  cleanOutcome,
  collectOutcome,
  sendTexts,
  startFullBatch,
  waitAssigned,
} from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

const SLOTS = 6;
const READ_ONLY_MS = 20_000;

/**
 * What a failover onto a standby (or a managed server that turned read-only when its disk filled) looks
 * like from the worker: its sessions are dropped and every new one refuses writes with SQLSTATE 25006.
 * Scoped to the test's own database; the server is shared.
 */
async function setReadOnly(fixture: WorkerFixture, on: boolean): Promise<void> {
  const { sql } = fixture.db;
  const name = sql(fixture.db.name);
  if (on) await sql`alter database ${name} set default_transaction_read_only = on`;
  else await sql`alter database ${name} reset default_transaction_read_only`;
  // A session keeps the setting it started with: drop the worker's so they reconnect under the new one.
  await sql`
    select pg_terminate_backend(pid) from pg_stat_activity
    where datname = ${fixture.db.name} and application_name like 'els-worker-%'`;
}

describe('a database that turns read-only for twenty seconds', () => {
  const openFixture = useWorkerFixture('read-only', {
    // Few bounded attempts and short waits: a worker that took read-only for a glitch would give up in
    // well under the outage.
    env: { ELS_RETRY_UNEXPECTED_MAX: '2', ELS_RETRY_MAX_BACKOFF_MS: '500' },
  });

  it('keeps the texts that arrive meanwhile in retry, reports itself read-only, and assigns them all once it is writable', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'read-only', SLOTS, 2);

    await setReadOnly(fixture, true);
    const startedAt = Date.now();
    let duringOutage;
    try {
      await sendTexts(fixture, batch, batch.texts.slice(2));
      duringOutage = await waitFor(
        '/readyz to report the database read-only',
        async () => {
          const readiness = await fixture.cluster.readiness(0);
          const readOnly = readiness.body?.dependencies.database.readOnly === true;
          return readiness.status === 503 && readOnly ? readiness : undefined;
        },
        { timeoutMs: READ_ONLY_MS, intervalMs: 250 },
      );
      const { body } = await fixture.cluster.httpGet(0, '/metrics');
      expect(String(body)).toMatch(/^els_database_state\{state="read_only"\} 1$/m);
      const remaining = READ_ONLY_MS - (Date.now() - startedAt);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
      expect(await assignedCount(fixture, batch.batchId)).toBe(2);
      expect(fixture.collector.of(OUTPUT.deadLetter)).toEqual([]);
    } finally {
      await setReadOnly(fixture, false);
    }
    expect(duringOutage.status).toBe(503);

    await waitAssigned(fixture, batch.batchId, SLOTS);
    expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
    expect(fixture.collector.of(OUTPUT.deadLetter)).toEqual([]);
    await waitFor(
      'the worker to be ready again',
      async () => (await fixture.cluster.readiness(0)).status === 200,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});
