import { buildBatchContentProvisioningCompleted, type CourseCode, type OutboundEvent } from '@els/contracts';
import type { Tx } from '../database';
import { batchesAddResolved, batchesSelect } from '../sql/batches';
import { essayStatesAssignedOf } from '../sql/essay-states';

/**
 * The completion event of a batch whose latch this transaction has just set. Called only then: every other
 * resolver of the batch has committed (they held the counter row lock before us), so the payload sees
 * every slot. Its event id depends on the batch alone, so even a hypothetical second write would be
 * absorbed by the outbox's unique event id.
 *
 * `decidedAt` is the moment the latch was set, not the transaction's start: a transaction that waited for
 * the counter row lock sees texts another transaction assigned meanwhile, which may have been sent after
 * this one began, and a completion stamped before a text it lists was sent would misdate it.
 */
export async function completionEvent(
  tx: Tx,
  batchId: string,
  decidedAt: Date,
): Promise<OutboundEvent | undefined> {
  const batch = await batchesSelect(tx, batchId);
  if (!batch) return undefined;
  const essays = await essayStatesAssignedOf(tx, batchId);
  return buildBatchContentProvisioningCompleted({
    batchId,
    expectedCount: batch.expectedCount,
    courseCode: batch.courseCode as CourseCode,
    userId: batch.userId,
    essaysForProcessing: essays,
    correlationId: batch.correlationId,
    // The registration's, whichever input resolved the last slot.
    traceContext: batch.traceContext,
    at: decidedAt,
  });
}

/**
 * Counts `resolved` newly resolved slots of one batch and, for the one transaction whose increment
 * reaches the slot count, returns the completion event (invariant 4), stamped by `clock` once the count
 * is in.
 */
export async function resolveSlots(
  tx: Tx,
  batchId: string,
  resolved: number,
  now: Date,
  clock: () => Date,
): Promise<OutboundEvent | undefined> {
  if (!(await batchesAddResolved(tx, batchId, resolved, now))) return undefined;
  return completionEvent(tx, batchId, clock());
}
