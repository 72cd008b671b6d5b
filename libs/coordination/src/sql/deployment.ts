import type { Sql, Tx } from '../database';
import { ElsError, ERROR_CODES } from '../errors';

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
