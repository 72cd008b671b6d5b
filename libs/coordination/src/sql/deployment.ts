import type { Sql, Tx } from '../database';
import { ERROR_CODES } from '../error-catalogue';
import { coerceError, ElsError } from '../errors';

/**
 * The identity of the database the worker coordinates on, for scoping the Redis pre-filter (invariant 9).
 *
 * It is derived from two values, both of which a recreated or copied database does not share with the
 * original:
 * - `els_deployment.deployment_id`, a random UUID inserted by migration 0002 (drop + create + migrate
 *   gives a new one; `update els_deployment set deployment_id = gen_random_uuid()` sets a new one);
 * - the database's OID in its cluster, which is new for every `CREATE DATABASE`, so a clone from a
 *   template or a dump restored into a new database also gets a new identity although the row was copied.
 * A physical copy (base backup, point-in-time recovery, storage snapshot, promoted standby) keeps both:
 * the restore procedure rotates the id (docs/guides/operate.md).
 *
 * Locks nothing: one read of a one-row table and of pg_database.
 */
export async function deploymentId(sql: Sql | Tx): Promise<string> {
  const [row] = await sql<Array<{ id: string }>>`
    select md5(d.deployment_id::text || '/' || db.oid::text)::uuid::text as id
    from els_deployment d
    cross join pg_database db
    where db.datname = current_database()`;
  if (!row) {
    throw new ElsError(
      ERROR_CODES.internal,
      'the els_deployment row is missing; run `main.js migrate` or restore the row',
      false,
    );
  }
  return row.id;
}

/** What the write probe found: the database takes a write now, refuses writes, or does not answer. */
export type WriteProbeResult =
  { readonly state: 'writable' } | { readonly state: 'read-only' | 'unavailable'; readonly error: ElsError };

/**
 * Proves that the database takes a write right now, in a transaction of its own: the worker asks it before
 * it dead-letters a message for a failure it does not understand (invariant 6), so an outage missing from
 * the classification table (a read-only server, a full disk, a full NOTIFY queue) is retried instead.
 *
 * It rewrites the one `els_deployment` row (a real heap write and WAL record: refused by a read-only
 * transaction, a standby, a full disk) and sends a NOTIFY on a channel nobody listens to (refused at commit
 * when the NOTIFY queue is full, as the outbox's own NOTIFY would be). Locks the singleton row for the
 * instant of its update; a peer's probe that holds it makes this one wait at most `lockTimeoutMs`, and a
 * probe that cannot finish within `timeoutMs` counts as unavailable: when in doubt, retry rather than drop.
 */
export async function probeDatabaseWritable(
  sql: Sql,
  options: { timeoutMs?: number; lockTimeoutMs?: number } = {},
): Promise<WriteProbeResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const lockTimeoutMs = options.lockTimeoutMs ?? Math.min(1000, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`write probe timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([
      sql.begin(async (tx) => {
        await tx`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true),
                        set_config('statement_timeout', ${`${timeoutMs}ms`}, true)`;
        await tx`update els_deployment set created_at = created_at where singleton`;
        await tx`select pg_notify('els_write_probe', '')`;
      }),
      expired,
    ]);
    return { state: 'writable' };
  } catch (error) {
    const coerced = coerceError(error);
    return {
      state: coerced.code === ERROR_CODES.databaseReadOnly ? 'read-only' : 'unavailable',
      error: coerced,
    };
  } finally {
    clearTimeout(timer);
  }
}
