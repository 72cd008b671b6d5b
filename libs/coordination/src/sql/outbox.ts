import type { OutboundEvent } from '@els/contracts';
import type { Sql, Tx } from '../database';

/**
 * Writes output events in the caller's transaction (invariant 5). The event id is deterministic and
 * unique: writing the same logical event twice (redelivery, a second replica) inserts nothing.
 * The statement-level trigger of migration 0001 NOTIFYs the relays when the transaction commits.
 */
export async function outboxInsert(tx: Tx, events: OutboundEvent[], now: Date): Promise<number> {
  if (events.length === 0) return 0;
  // One JSON document for all rows: the envelopes are not escaped again into an array literal (by the
  // driver) and parsed out of it (by PostgreSQL), which cost more than the rest of the statement.
  const rows = events.map((e) => ({ topic: e.topic, key: e.key, payload: e.envelope }));
  const inserted = await tx`
    insert into outbox (event_id, topic, key, payload, created_at, next_attempt_at)
    select (e.payload ->> 'event_id')::uuid, e.topic, e.key, e.payload, ${now}, ${now}
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as e(topic text, key text, payload jsonb)
    on conflict (event_id) do nothing
    returning id`;
  return inserted.length;
}

export interface OutboxRow {
  id: string;
  eventId: string;
  topic: string;
  key: string;
  value: string;
  createdAt: Date;
  /** Publish attempts before this one. */
  attempts: number;
  /** The writer's application_name (migration 0003); null on older rows. */
  origin: string | null;
}

/**
 * Claims up to `limit` due, unpublished rows for this transaction and marks them published in the same
 * statement; the caller publishes them and then commits, or reverts the rows whose publish failed
 * (`outboxMarkFailed`). SKIP LOCKED lets every replica's relay claim a disjoint set; the row locks are held
 * until the transaction ends, so no two relays ever publish the same row at the same time, and a relay that
 * dies before its commit leaves the rows unpublished (the mark rolls back with it). A row backing off
 * (next_attempt_at in the future) is not due, so a poisoned row never blocks the rows behind it.
 *
 * The scan follows the partial index of unpublished rows (next_attempt_at, id) in its own order, so it stops
 * after `limit` live rows. Marking a row published leaves its old version's entry in that index until a
 * vacuum; an index scan flags such entries dead the first time it meets them and skips them cheaply after
 * that, where a bitmap scan (the plan for `order by id`) visited every heap page they point to on every
 * claim: 19 ms per claim of 200 rows after 130,000 published rows, the largest share of the database's CPU
 * per text (docs/reference/performance.md).
 */
export async function outboxClaimAndMark(tx: Tx, limit: number, now: Date): Promise<OutboxRow[]> {
  const rows = await tx<OutboxRow[]>`
    with due as (
      select id from outbox
      where published_at is null and next_attempt_at <= ${now}
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked
    )
    update outbox o set published_at = ${now}, attempts = o.attempts + 1, last_error = null
    from due where o.id = due.id
    returning o.id::text as id, o.event_id::text as "eventId", o.topic, o.key, o.payload::text as value,
              o.created_at as "createdAt", o.attempts - 1 as attempts, o.origin`;
  // UPDATE … RETURNING has no order; publish in the order the rows were written.
  return [...rows].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
}

/**
 * Reverts the claim of a row whose publish failed, in the claim's transaction: unpublished again, the error
 * recorded, its next attempt pushed back by `backoffMs` (the claim counted the attempt).
 */
export async function outboxMarkFailed(
  tx: Tx,
  id: string,
  error: string,
  backoffMs: number,
  now: Date,
): Promise<void> {
  await tx`
    update outbox
       set published_at = null, last_error = ${error.slice(0, 2000)},
           next_attempt_at = ${now}::timestamptz + make_interval(secs => ${backoffMs / 1000})
     where id = ${id}::bigint`;
}

export interface OutboxBacklog {
  rows: number;
  oldestAgeMs: number;
  /** Unpublished rows whose next attempt is due at `now`. */
  due: number;
}

/** The unpublished rows: how many, how old the oldest, how many are due. One statement, no locks. */
export async function outboxBacklog(sql: Sql | Tx, now: Date = new Date()): Promise<OutboxBacklog> {
  const [row] = await sql<Array<{ rows: number; oldest: Date | null; due: number }>>`
    select count(*)::int as rows, min(created_at) as oldest,
           (count(*) filter (where next_attempt_at <= ${now}))::int as due
    from outbox where published_at is null`;
  return {
    rows: row?.rows ?? 0,
    oldestAgeMs: row?.oldest ? Math.max(0, now.getTime() - row.oldest.getTime()) : 0,
    due: row?.due ?? 0,
  };
}

/**
 * Deletes up to `limit` published rows whose publication is older than `retentionMs` (invariant 12).
 * Only published rows qualify, so an unpublished row is never deleted whatever its age (invariant 5).
 * Locks the rows it deletes, taken with SKIP LOCKED inside a CTE with LIMIT (so the planner cannot delete
 * more rows than selected): a row another transaction holds is left for a later pass instead of waited
 * on, and the relay never waits on this statement either, because it claims only unpublished rows, which
 * this never selects. A redelivered event cannot re-create a pruned row: the state tables, not the outbox
 * key, decide whether an event is written at all. `now` pins "now" in tests.
 */
export async function outboxDeletePublishedBefore(
  sql: Sql | Tx,
  options: { retentionMs: number; limit: number; now?: Date | undefined },
): Promise<number> {
  const result = await sql`
    with expired as (
      select id from outbox
      where published_at is not null
        and published_at < coalesce(${options.now ?? null}::timestamptz, now())
                           - make_interval(secs => ${options.retentionMs / 1000})
      order by published_at
      limit ${options.limit}
      for update skip locked
    )
    delete from outbox o using expired where o.id = expired.id`;
  return result.count;
}

/**
 * Lets the relay's claim transaction idle for up to `idleMs` while Kafka answers (transaction-local, so it
 * overrides the session's shorter default only here). Past that PostgreSQL ends the session and the rows
 * claimed FOR UPDATE are unlocked for the other relays: a relay frozen mid-publish cannot hold them.
 */
export async function outboxRelayBoundIdleTime(tx: Tx, idleMs: number): Promise<void> {
  await tx`select set_config('idle_in_transaction_session_timeout', ${String(Math.floor(idleMs))}, true)`;
}

export interface OutboxRowCounts {
  /** Exact: counted on the partial index of unpublished rows, which the relay keeps small. */
  unpublished: number;
  /**
   * An estimate from the table statistics (live rows minus unpublished), kept current by every commit
   * and corrected by (auto)vacuum and analyze: counting the published rows exactly would scan them all
   * (about 15 ms per 100,000 rows), and with a day of retention there may be many millions.
   */
  published: number;
}

/** Row counts of the outbox for the metrics. Locks nothing; constant cost apart from the unpublished count. */
export async function outboxRowCounts(sql: Sql | Tx): Promise<OutboxRowCounts> {
  const [row] = await sql<Array<{ unpublished: number; live: number | null }>>`
    select (select count(*)::int from outbox where published_at is null) as unpublished,
           (select n_live_tup::float8 from pg_stat_user_tables where relid = 'outbox'::regclass) as live`;
  const unpublished = row?.unpublished ?? 0;
  return { unpublished, published: Math.max(0, Math.round((row?.live ?? 0) - unpublished)) };
}
