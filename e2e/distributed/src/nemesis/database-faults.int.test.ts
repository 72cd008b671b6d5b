import { createDatabase, type Sql } from '@els/coordination';
import { TEST_SERVER_URL, waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from '@els/coordination/testing';
import { createDatabaseFaults, type DatabaseFaults } from './database-faults';

/**
 * The read-only fault against the local stack's PostgreSQL: what a worker's session sees during the hold
 * (read-only, every write refused with 25006), that it is writable again afterwards, and that nothing else
 * on the server is touched.
 */

interface Session {
  pid: number;
  readOnly: string;
}

/** The session's backend and its transaction_read_only, retried while it reconnects after being ended. */
async function sessionOf(sql: Sql, expected: 'on' | 'off'): Promise<Session> {
  return waitFor(`a session with transaction_read_only = ${expected}`, async () => {
    const [row] = await sql<Session[]>`
      select pg_backend_pid() as pid, current_setting('transaction_read_only') as "readOnly"`;
    return row?.readOnly === expected ? row : undefined;
  });
}

/** The SQLSTATE a write fails with, or 'ok'. */
async function writeOutcome(sql: Sql): Promise<string> {
  try {
    await sql`insert into nemesis_probe (at) values (now())`;
    return 'ok';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
}

describe('postgres-read-only database fault', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  let faults: DatabaseFaults;
  const pools: Sql[] = [];
  const workerPool = (database: TestDatabase, instance: string) => {
    const pool = createDatabase(database.url, { max: 1, applicationName: `els-worker-${instance}` });
    pools.push(pool);
    return pool;
  };

  beforeAll(async () => {
    db = await createTestDatabase({ max: 1 });
    other = await createTestDatabase({ max: 1 });
    for (const database of [db, other]) await database.sql`create table nemesis_probe (at timestamptz)`;
    faults = createDatabaseFaults({ serverUrl: TEST_SERVER_URL, database: db.name });
  });

  afterAll(async () => {
    await faults?.heal().catch(() => undefined);
    await faults?.close();
    await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
    await db?.drop();
    await other?.drop();
  });

  it('may act on the local server', async () => {
    expect(await faults.unavailable()).toBeUndefined();
    const missing = createDatabaseFaults({ serverUrl: TEST_SERVER_URL, database: 'els_no_such_database' });
    try {
      expect(await missing.unavailable()).toMatch(/not found/);
    } finally {
      await missing.close();
    }
  });

  it("turns the replicas' sessions read-only for the hold and writable after it, nobody else's", async () => {
    const worker = workerPool(db, 'nemesis-probe');
    const elsewhere = workerPool(other, 'nemesis-elsewhere');
    const before = await sessionOf(worker, 'off');
    const elsewhereBefore = await sessionOf(elsewhere, 'off');
    const [suite] = await db.sql<Array<{ pid: number }>>`select pg_backend_pid() as pid`;
    expect(await writeOutcome(worker)).toBe('ok');

    expect(await faults.setReadOnly(true)).toBeGreaterThanOrEqual(1);
    expect(await faults.isReadOnly()).toBe(true);
    // The replica's session was ended: it reconnects into a read-only one, and its writes fail with 25006.
    const during = await sessionOf(worker, 'on');
    expect(during.pid).not.toBe(before.pid);
    expect(await writeOutcome(worker)).toBe('25006');
    // Another database's sessions, even a worker's, and the suite's own session are left alone.
    expect(await sessionOf(elsewhere, 'off')).toEqual(elsewhereBefore);
    expect(await writeOutcome(elsewhere)).toBe('ok');
    const [suiteDuring] = await db.sql<Array<{ pid: number }>>`select pg_backend_pid() as pid`;
    expect(suiteDuring?.pid).toBe(suite?.pid);

    // The fault's own session is not read-only: it resets the setting, and the replica's session is ended
    // again, since a read-only session stays read-only until it reconnects.
    expect(await faults.setReadOnly(false)).toBeGreaterThanOrEqual(1);
    expect(await faults.isReadOnly()).toBe(false);
    const after = await sessionOf(worker, 'off');
    expect(after.pid).not.toBe(during.pid);
    expect(await writeOutcome(worker)).toBe('ok');
  });

  it('heals a database a fault left read-only, and nothing when it is writable', async () => {
    const worker = workerPool(db, 'nemesis-heal');
    await sessionOf(worker, 'off');
    await faults.setReadOnly(true);
    await sessionOf(worker, 'on');
    expect(await faults.heal()).toBe(true);
    expect(await faults.isReadOnly()).toBe(false);
    const healed = await sessionOf(worker, 'off');
    expect(await writeOutcome(worker)).toBe('ok');
    expect(await faults.heal()).toBe(false);
    // Healing a writable database ended no session.
    expect((await sessionOf(worker, 'off')).pid).toBe(healed.pid);
  });
});
