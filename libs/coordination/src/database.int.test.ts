import { createDatabase, type Sql } from './database';
import { TEST_SERVER_URL } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from './testing';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const settleWithin = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise.then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? 'error',
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);

/** The session of the test database blocked reading pg_type (the driver's array types query). */
async function waitForTypesRead(monitor: Sql, database: string): Promise<Array<{ pid: number }>> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const rows = await monitor<Array<{ pid: number }>>`
      select pid from pg_stat_activity
       where datname = ${database} and application_name = 'els-types-fetch'
         and wait_event_type = 'Lock' and query like '%typarray%'`;
    if (rows.length > 0) return rows;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no connection of the pool read the array types within 5 s');
}

describe('database driver', () => {
  it('reports a write on a dead pinned connection as CONNECTION_CLOSED instead of crashing the process', async () => {
    // A reserved connection is not rotated away by the pool. Once its backend is gone, a small write is
    // deferred to an immediate that runs after the socket was dropped; unpatched, postgres.js throws
    // from that immediate and the process exits (docs/adr/0002-postgres-driver-patch.md).
    const session = await db.sql.reserve();
    try {
      const [row] = await session<Array<{ pid: number }>>`select pg_backend_pid() as pid`;
      await db.sql`select pg_terminate_backend(${row?.pid ?? 0})`;
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) outcomes.push(await settleWithin(session`select 1`, 2000));
      expect(outcomes).toContain('CONNECTION_CLOSED');
      expect(outcomes).not.toContain('ok');
    } finally {
      session.release();
    }
  });

  it('fails the waiting query, and nothing else, when a new connection is terminated while it reads the array types', async () => {
    // A fresh connection first reads the server's array types (postgres.js `fetch_types`), before the
    // query that opened it. Unpatched, a connection terminated during that read (a failover, the
    // suite's read-only fault) fails the query and also rejects a promise nobody holds: an unhandled
    // rejection, which stops the worker (docs/adr/0002-postgres-driver-patch.md).
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    // Watched and terminated from another database: this one's catalog is locked meanwhile.
    const monitor = createDatabase(`${TEST_SERVER_URL}/postgres`, { max: 1, applicationName: 'els-test' });
    const fresh = createDatabase(db.url, { max: 1, applicationName: 'els-types-fetch' });
    const locker = await db.connect(1).reserve();
    try {
      // The types read waits behind this lock, so it can be caught in the act.
      await locker`begin`;
      await locker`lock table pg_catalog.pg_type in access exclusive mode`;
      const query = fresh`select 1 as one`.then(
        () => 'ok',
        (error: { code?: string }) => error.code ?? 'error',
      );
      const [reading] = await waitForTypesRead(monitor, db.name);
      await monitor`select pg_terminate_backend(${reading?.pid ?? 0})`;
      await locker`rollback`;
      expect(['57P01', 'CONNECTION_CLOSED', 'CONNECTION_ENDED']).toContain(await query);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
      // The pool reconnects (and reads the types again) for the next query.
      const [row] = await fresh<Array<{ one: number }>>`select 1 as one`;
      expect(row?.one).toBe(1);
    } finally {
      process.off('unhandledRejection', record);
      locker.release();
      await fresh.end({ timeout: 1 });
      await monitor.end({ timeout: 1 });
    }
  });

  it('keeps serving queries from the pool after PostgreSQL terminated its connections', async () => {
    await db.sql`select 1`;
    const admin = db.connect(1);
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${db.name} and pid <> pg_backend_pid()`;
    // Each dead pooled connection fails once (a retriable error for the worker), then is replaced.
    let answer: number | undefined;
    for (let attempt = 0; attempt < 12 && answer === undefined; attempt++) {
      answer = await db.sql<Array<{ answer: number }>>`select 42 as answer`.then(
        (rows) => rows[0]?.answer,
        () => undefined,
      );
    }
    expect(answer).toBe(42);
  });
});

describe('session timeouts', () => {
  const pools: Sql[] = [];
  const open = (options: Parameters<typeof createDatabase>[1]) => {
    const pool = createDatabase(db.url, options);
    pools.push(pool);
    return pool;
  };
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
  });

  it('applies the statement, lock and idle-in-transaction timeouts to every session of the pool', async () => {
    const sql = open({
      max: 2,
      applicationName: 'els-test-timeouts',
      statementTimeoutMs: 10_000,
      lockTimeoutMs: 3000,
      idleInTransactionSessionTimeoutMs: 5000,
    });
    const sessions = await Promise.all([sql.reserve(), sql.reserve()]);
    try {
      for (const session of sessions) {
        const [row] = await session<
          Array<{ statement: string; lock: string; idle: string }>
        >`select current_setting('statement_timeout') as statement, current_setting('lock_timeout') as lock,
                 current_setting('idle_in_transaction_session_timeout') as idle`;
        expect(row).toEqual({ statement: '10s', lock: '3s', idle: '5s' });
      }
    } finally {
      for (const session of sessions) session.release();
    }
  });

  it('keeps the server defaults for the timeouts it is not given', async () => {
    const sql = open({ max: 1, applicationName: 'els-test-defaults', lockTimeoutMs: 60_000 });
    const [row] = await sql<Array<{ statement_timeout: string }>>`show statement_timeout`;
    const [lock] = await sql<Array<{ lock_timeout: string }>>`show lock_timeout`;
    expect(row?.statement_timeout).toBe('0');
    expect(lock?.lock_timeout).toBe('1min');
  });

  it('cancels a statement that runs past the statement timeout with SQLSTATE 57014', async () => {
    const sql = open({ max: 1, applicationName: 'els-test-statement', statementTimeoutMs: 200 });
    await expect(sql`select pg_sleep(5)`).rejects.toMatchObject({ code: '57014' });
  });

  it('fails a lock wait past the lock timeout with SQLSTATE 55P03, advisory locks included', async () => {
    const holder = open({ max: 1, applicationName: 'els-test-holder' });
    const waiter = open({ max: 1, applicationName: 'els-test-waiter', lockTimeoutMs: 200 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = holder.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(91)`;
      locked();
      await held;
    });
    await isLocked;
    const started = Date.now();
    await expect(waiter.begin((tx) => tx`select pg_advisory_xact_lock(91)`)).rejects.toMatchObject({
      code: '55P03',
    });
    expect(Date.now() - started).toBeLessThan(3000);
    release();
    await holding;
  });

  it('ends a session left idle in a transaction, so the locks it held are released', async () => {
    const frozen = open({
      max: 1,
      applicationName: 'els-test-frozen',
      idleInTransactionSessionTimeoutMs: 300,
    });
    const other = open({ max: 1, applicationName: 'els-test-other', lockTimeoutMs: 5000 });
    // The holder takes a lock, then stops talking to the server (as a paused process would).
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = frozen
      .begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(92)`;
        locked();
        await paused;
        await tx`select 1`;
      })
      .then(
        () => 'committed',
        (error: { code?: string }) => error.code ?? 'error',
      );
    await isLocked;
    const started = Date.now();
    await other.begin((tx) => tx`select pg_advisory_xact_lock(92)`);
    expect(Date.now() - started).toBeLessThan(4000);
    resume();
    expect(await holding).not.toBe('committed');
  });
});
