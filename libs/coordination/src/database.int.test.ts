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
