import type { OutboundEvent } from '@els/contracts';
import type { Sql, Tx } from '../database';

/**
 * Writes output events in the caller's transaction (invariant 5). The event id is deterministic and
 * unique: writing the same logical event twice (redelivery, a second replica) inserts nothing.
 * The statement-level trigger of migration 0001 NOTIFYs the relays when the transaction commits.
 */
export async function outboxInsert(tx: Tx, events: OutboundEvent[], now: Date): Promise<number> {
  if (events.length === 0) return 0;
  const rows = await tx`
    insert into outbox (event_id, topic, key, payload, created_at, next_attempt_at)
    select e.event_id, e.topic, e.key, e.payload::jsonb, ${now}, ${now}
    from unnest(
      ${events.map((e) => e.envelope.event_id)}::uuid[],
      ${events.map((e) => e.topic)}::text[],
      ${events.map((e) => e.key)}::text[],
      ${events.map((e) => JSON.stringify(e.envelope))}::text[]
    ) as e(event_id, topic, key, payload)
    on conflict (event_id) do nothing
    returning id`;
  return rows.length;
}

export interface OutboxRow {
  id: string;
  eventId: string;
  topic: string;
  key: string;
  value: string;
  createdAt: Date;
  attempts: number;
}

/**
 * Claims up to `limit` due, unpublished rows for this transaction. SKIP LOCKED lets every replica's relay
 * claim a disjoint set; the lock is held until the transaction marks them published, so no two relays
 * ever publish the same row at the same time. A row backing off (next_attempt_at in the future) is not
 * due, so a poisoned row never blocks the rows behind it.
 */
export async function outboxClaimDue(tx: Tx, limit: number, now: Date): Promise<OutboxRow[]> {
  return tx<OutboxRow[]>`
    with due as (
      select id from outbox
      where published_at is null and next_attempt_at <= ${now}
      order by id
      limit ${limit}
      for update skip locked
    )
    select o.id::text as id, o.event_id::text as "eventId", o.topic, o.key, o.payload::text as value,
           o.created_at as "createdAt", o.attempts
    from outbox o join due using (id)
    order by o.id`;
}

export async function outboxMarkPublished(tx: Tx, ids: string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await tx`
    update outbox set published_at = ${now}, attempts = attempts + 1, last_error = null
    where id = any(${ids}::bigint[])`;
}

/** Records a failed publish and pushes the row back by `backoffMs`. */
export async function outboxMarkFailed(
  tx: Tx,
  id: string,
  error: string,
  backoffMs: number,
  now: Date,
): Promise<void> {
  await tx`
    update outbox
       set attempts = attempts + 1, last_error = ${error.slice(0, 2000)},
           next_attempt_at = ${now}::timestamptz + make_interval(secs => ${backoffMs / 1000})
     where id = ${id}::bigint`;
}

export interface OutboxBacklog {
  rows: number;
  oldestAgeMs: number;
}

export async function outboxBacklog(sql: Sql | Tx, now: Date = new Date()): Promise<OutboxBacklog> {
  const [row] = await sql<Array<{ rows: number; oldest: Date | null }>>`
    select count(*)::int as rows, min(created_at) as oldest from outbox where published_at is null`;
  return {
    rows: row?.rows ?? 0,
    oldestAgeMs: row?.oldest ? Math.max(0, now.getTime() - row.oldest.getTime()) : 0,
  };
}
