import type { Sql } from './database';
import { outboxClaimAndMark } from './sql/outbox';
import { createTestDatabase, type TestDatabase } from './testing';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const PUBLISHED = 20_000;

/** Heap pages of the outbox read so far (from shared buffers or from disk), once every session flushed its statistics. */
async function outboxHeapPages(sql: Sql): Promise<number> {
  const [row] = await sql<Array<{ pages: number }>>`
    select (coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0))::int as pages
    from pg_statio_user_tables where relid = 'outbox'::regclass`;
  return row?.pages ?? 0;
}

/** One claim of 10 rows in its own transaction on `session`, rolled back; returns the heap pages it read. */
async function claimPages(session: Sql, observer: Sql): Promise<{ rows: number; pages: number }> {
  await session`select pg_stat_force_next_flush()`;
  await session`select 1`;
  const before = await outboxHeapPages(observer);
  let rows = 0;
  await session
    .begin(async (tx) => {
      rows = (await outboxClaimAndMark(tx, 10, new Date())).length;
      throw new Error('roll back');
    })
    .catch(() => undefined);
  await session`select pg_stat_force_next_flush()`;
  await session`select 1`;
  return { rows, pages: (await outboxHeapPages(observer)) - before };
}

describe('outbox claim after many published rows', () => {
  // Marking a row published leaves the entry of its unpublished version in the partial index until a
  // vacuum runs (autovacuum may be far behind, or off). A claim that visits the heap for every such entry
  // costs in proportion to everything ever published; this one reads a few pages for a few due rows.
  it('reads the heap pages of the rows it claims, not those of every row published before them', async () => {
    await db.sql`
      insert into outbox (event_id, topic, key, payload)
      select gen_random_uuid(), 'test.topic', 'k' || g, jsonb_build_object('text', repeat('x', 500))
      from generate_series(1, ${PUBLISHED}) g`;
    await db.sql`update outbox set published_at = now(), attempts = 1`;
    await db.sql`
      insert into outbox (event_id, topic, key, payload)
      select gen_random_uuid(), 'test.topic', 'due' || g, jsonb_build_object('text', repeat('x', 500))
      from generate_series(1, 50) g`;
    // One connection: the flushes, the claims and their statistics are one session's.
    const session = db.connect(1);
    try {
      // The first claim meets every stale entry once (and flags it dead); the claims after it must not.
      await claimPages(session, db.sql);
      const second = await claimPages(session, db.sql);
      const third = await claimPages(session, db.sql);
      expect(second.rows).toBe(10);
      expect(third.rows).toBe(10);
      // The published rows fill about 1,700 heap pages, the due rows a handful; planning the claim may look
      // at up to about 100 pages of the index's ends (PostgreSQL bounds that), whatever the table's size.
      const [table] = await db.sql<Array<{ pages: number }>>`
        select (pg_relation_size('outbox') / current_setting('block_size')::int)::int as pages`;
      const tablePages = table?.pages ?? 0;
      expect(tablePages).toBeGreaterThan(1000);
      expect(second.pages).toBeLessThan(tablePages / 5);
      expect(third.pages).toBeLessThan(tablePages / 5);
    } finally {
      await session.end({ timeout: 5 });
    }
  });
});
