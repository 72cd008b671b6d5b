import type { Tx } from '../database';

// Two-key advisory locks in their own key space (class 7301), apart from the migration lock.
const BATCH_LOCK_CLASS = 7301;

/**
 * Registration takes the exclusive per-batch lock; content and validation failures that find no batch take
 * the shared one before storing themselves as pending. So a registration either commits before such a
 * transaction looks again (and it sees the batch), or waits for it to commit (and drains its pending row):
 * nothing is stranded (invariant 7). Content of registered batches never takes it.
 */
export async function batchLockExclusive(tx: Tx, batchId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(${BATCH_LOCK_CLASS}::int4, hashtext(${batchId}))`;
}

export async function batchLockShared(tx: Tx, batchId: string): Promise<void> {
  await tx`select pg_advisory_xact_lock_shared(${BATCH_LOCK_CLASS}::int4, hashtext(${batchId}))`;
}
