import postgres from 'postgres';
import { coerceError, isTransactionConflict } from './errors';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

export interface DatabaseOptions {
  /** Pool size; keep it small (throughput comes from batching, not connections). */
  max: number;
  applicationName: string;
  connectTimeoutS?: number;
  /** Cancels any statement that runs longer (`statement_timeout`; unset or 0 = no limit). */
  statementTimeoutMs?: number;
  /** Fails any statement that waits longer for a lock, advisory locks included (`lock_timeout`). */
  lockTimeoutMs?: number;
  /**
   * Ends a session that sits idle inside a transaction for longer (`idle_in_transaction_session_timeout`),
   * so a paused or partitioned process releases its row and advisory locks (invariant 11).
   */
  idleInTransactionSessionTimeoutMs?: number;
}

/** Session parameters PostgreSQL applies to every connection of the pool (absent = server default). */
export function sessionParameters(options: DatabaseOptions): Record<string, string> {
  const parameters: Record<string, string> = { application_name: options.applicationName };
  const put = (name: string, ms: number | undefined) => {
    if (ms !== undefined) parameters[name] = String(Math.max(0, Math.floor(ms)));
  };
  put('statement_timeout', options.statementTimeoutMs);
  put('lock_timeout', options.lockTimeoutMs);
  put('idle_in_transaction_session_timeout', options.idleInTransactionSessionTimeoutMs);
  return parameters;
}

/** A postgres.js pool. Nothing connects until the first query. */
export function createDatabase(url: string, options: DatabaseOptions): Sql {
  return postgres(url, {
    max: options.max,
    connect_timeout: options.connectTimeoutS ?? 5,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    prepare: true,
    onnotice: () => undefined,
    connection: sessionParameters(options),
  });
}

export interface TransactionRetry {
  /** Attempts for deadlock / serialization failures before giving up (the caller retries later). */
  attempts?: number;
}

/**
 * Runs `work` in one READ COMMITTED transaction. A deadlock or serialization failure (possible when two
 * batched transactions wait on each other's slots) rolls everything back and runs it again; anything
 * else is coerced to an ElsError for the caller to classify.
 */
export async function inTransaction<T>(
  sql: Sql,
  work: (tx: Tx) => Promise<T>,
  retry: TransactionRetry = {},
): Promise<T> {
  const attempts = retry.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return (await sql.begin((tx) => work(tx))) as T;
    } catch (error) {
      if (isTransactionConflict(error) && attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        continue;
      }
      throw coerceError(error);
    }
  }
}

/** Thrown inside a claim's savepoint to roll it back (see claimInSavepoint). */
class NothingClaimed extends Error {}

/**
 * Runs a claim (`… FOR UPDATE [SKIP LOCKED] … UPDATE … RETURNING`) inside a savepoint. The savepoint is rolled
 * back, and every row lock taken in it released, when the claim returns no row (`[]`) or hits a unique
 * index (`'collided'`). A locking read can lock a row it then does not return: one another transaction
 * updated while this one waited for it, which no longer matches once locked. Such a lock, kept to the end
 * of the transaction, would make a later wait of this transaction a possible deadlock.
 */
export async function claimInSavepoint<T>(
  tx: Tx,
  claim: (sp: Tx) => Promise<T[]>,
): Promise<T[] | 'collided'> {
  try {
    return await withSavepoint<T[] | 'collided'>(
      tx,
      async (sp) => {
        const rows = await claim(sp);
        if (rows.length === 0) throw new NothingClaimed();
        return rows;
      },
      () => 'collided',
    );
  } catch (error) {
    if (error instanceof NothingClaimed) return [];
    throw error;
  }
}

/** Runs `work` inside a savepoint; returns `onUniqueViolation()` instead when it hits a unique index. */
export async function withSavepoint<T>(
  tx: Tx,
  work: (sp: Tx) => Promise<T>,
  onUniqueViolation: () => T,
): Promise<T> {
  try {
    return (await tx.savepoint((sp) => work(sp))) as T;
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return onUniqueViolation();
    throw error;
  }
}
