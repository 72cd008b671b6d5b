import { randomUUID } from 'node:crypto';
import type { Sql } from './database';
import { silentLogger } from './handler-context';
import { createOutboxSweeper, type OutboxSweeper, type SweeperEvent } from './outbox-sweeper';
import { outboxClaimAndMark, outboxDeletePublishedBefore, outboxRowCounts } from './sql/outbox';
import { waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from './testing';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const HOUR_MS = 3_600_000;
const NOW = new Date('2030-06-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

/** Inserts `count` rows under a fresh key; `publishedAt` null = unpublished. Returns the key. */
async function seed(sql: Sql, count: number, createdAt: Date, publishedAt: Date | null): Promise<string> {
  const key = randomUUID();
  await sql`
    insert into outbox (event_id, topic, key, payload, created_at, next_attempt_at, published_at)
    select gen_random_uuid(), 'test.topic', ${key}, '{}'::jsonb, ${createdAt}, ${createdAt}, ${publishedAt}
    from generate_series(1, ${count})`;
  return key;
}

async function rowsOf(sql: Sql, key: string): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from outbox where key = ${key}`;
  return row?.n ?? 0;
}

function sweeperFor(sql: Sql, options: { batchSize?: number; onEvent?: (e: SweeperEvent) => void } = {}) {
  return createOutboxSweeper({
    sql,
    retentionMs: 24 * HOUR_MS,
    intervalMs: 60_000,
    batchSize: options.batchSize ?? 100,
    logger: silentLogger,
    clock: () => NOW,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

describe('outbox sweeper', () => {
  const sweepers: OutboxSweeper[] = [];
  afterEach(async () => {
    await Promise.all(sweepers.splice(0).map((s) => s.stop()));
    await db.sql`delete from outbox`;
  });

  it('deletes published rows older than the retention and keeps recent ones and every unpublished row', async () => {
    const oldPublished = await seed(db.sql, 30, ago(50 * HOUR_MS), ago(48 * HOUR_MS));
    const recentPublished = await seed(db.sql, 10, ago(3 * HOUR_MS), ago(2 * HOUR_MS));
    // Published a day and a minute ago against the pinned clock: just past the retention.
    const justExpired = await seed(db.sql, 5, ago(25 * HOUR_MS), ago(24 * HOUR_MS + 60_000));
    const oldUnpublished = await seed(db.sql, 20, ago(400 * HOUR_MS), null);
    const recentUnpublished = await seed(db.sql, 5, ago(60_000), null);

    const deleted = await sweeperFor(db.sql).sweep();

    expect(deleted).toBe(35);
    expect(await rowsOf(db.sql, oldPublished)).toBe(0);
    expect(await rowsOf(db.sql, justExpired)).toBe(0);
    expect(await rowsOf(db.sql, recentPublished)).toBe(10);
    expect(await rowsOf(db.sql, oldUnpublished)).toBe(20);
    expect(await rowsOf(db.sql, recentUnpublished)).toBe(5);
  });

  it('deletes at most the batch size in one statement, and a pass repeats statements until none is full', async () => {
    const key = await seed(db.sql, 25, ago(50 * HOUR_MS), ago(49 * HOUR_MS));

    const first = await outboxDeletePublishedBefore(db.sql, {
      retentionMs: 24 * HOUR_MS,
      limit: 7,
      now: NOW,
    });
    expect(first).toBe(7);
    expect(await rowsOf(db.sql, key)).toBe(18);

    const events: SweeperEvent[] = [];
    expect(await sweeperFor(db.sql, { batchSize: 7, onEvent: (e) => events.push(e) }).sweep()).toBe(18);
    expect(await rowsOf(db.sql, key)).toBe(0);
    expect(events.filter((e) => e.type === 'pruned')).toEqual([{ type: 'pruned', count: 18 }]);
  });

  it('finishes its pass while a relay claim and another transaction hold row locks, and leaves the locked rows', async () => {
    const unpublished = await seed(db.sql, 10, ago(50 * HOUR_MS), null);
    const lockedPublished = await seed(db.sql, 4, ago(50 * HOUR_MS), ago(49 * HOUR_MS));
    const freePublished = await seed(db.sql, 20, ago(50 * HOUR_MS), ago(49 * HOUR_MS));
    const other = db.connect(2);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const claim = other.begin(async (tx) => {
      // The relay's own claim of due rows, plus locks on published rows (as a relay marking them would).
      const claimed = await outboxClaimAndMark(tx, 100, NOW);
      await tx`select id from outbox where key = ${lockedPublished} for update`;
      holding();
      await released;
      return claimed.length;
    });
    try {
      await held;
      const sweep = sweeperFor(db.sql, { batchSize: 3 }).sweep();
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        sweep,
        new Promise<'blocked'>((resolve) => (timer = setTimeout(() => resolve('blocked'), 5000))),
      ]);
      clearTimeout(timer);
      expect(outcome).toBe(20);
      expect(await rowsOf(db.sql, freePublished)).toBe(0);
      expect(await rowsOf(db.sql, lockedPublished)).toBe(4);
      expect(await rowsOf(db.sql, unpublished)).toBe(10);
    } finally {
      release();
      expect(await claim).toBe(10);
      await other.end({ timeout: 5 });
    }
    // Once the locks are gone the next pass takes the rows it skipped.
    expect(await sweeperFor(db.sql).sweep()).toBe(4);
  });

  it('runs a pass on start, reports the row counts, and stops idempotently, also before it started', async () => {
    await sweeperFor(db.sql).stop();
    await seed(db.sql, 12, ago(50 * HOUR_MS), ago(49 * HOUR_MS));
    const recent = await seed(db.sql, 6, ago(HOUR_MS), ago(HOUR_MS));
    await seed(db.sql, 3, ago(HOUR_MS), null);
    const events: SweeperEvent[] = [];
    const sweeper = sweeperFor(db.sql, { onEvent: (e) => events.push(e) });
    sweepers.push(sweeper);
    await sweeper.start();
    await waitFor('the first pass to prune the expired rows', () =>
      events.some((e) => e.type === 'pruned' && e.count === 12),
    );
    await sweeper.stop();
    await sweeper.stop();
    expect(await rowsOf(db.sql, recent)).toBe(6);
    expect(events.find((e) => e.type === 'rows')).toMatchObject({ type: 'rows', unpublished: 3 });
    // The published count comes from the table statistics, which follow commits within about a second.
    await waitFor('the row counts to follow the deletes', async () => {
      const counts = await outboxRowCounts(db.sql);
      return counts.published === 6 && counts.unpublished === 3;
    });
  });
});
