import { buildBatchContentProvisioningCompleted, type CourseCode, type OutboundEvent } from '@els/contracts';
import { inTransaction, type Sql, type Tx } from '../database';
import { nowOf, type HandlerContext } from '../handler-context';
import {
  batchesFullUnlatched,
  batchesFullUnlatchedAny,
  batchesLatchFull,
  batchesSelect,
} from '../sql/batches';
import { essayStatesAssignedOf } from '../sql/essay-states';
import { outboxInsert } from '../sql/outbox';

/**
 * The completion event of a batch whose latch this transaction has just set. Called only then: the latch
 * was set on a snapshot in which every slot was resolved and committed, so the payload, read after it,
 * sees every slot. Its event id depends on the batch alone, so even a hypothetical second write would be
 * absorbed by the outbox's unique event id.
 *
 * `decidedAt` is the moment the latch was set: after the commit of every text the completion lists, so it
 * never predates one of them.
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
 * Completes those of these batches whose every slot is resolved (invariant 4). Called by every handler
 * AFTER the commit of the transaction that resolved slots of them (or found its input already applied), so
 * no content transaction ever holds a batch-wide lock: of two replicas resolving a batch's last two slots at
 * once, at least the one that commits second finds both committed, and the latch lets only one of them
 * write the completion. A plain read picks the candidates first, so the usual case (slots still free) costs
 * one statement and no transaction. Returns the batches this call completed.
 */
export async function completeFullBatches(
  sql: Sql,
  batchIds: Iterable<string>,
  ctx: HandlerContext = {},
): Promise<Set<string>> {
  const candidates = await batchesFullUnlatched(sql, [...new Set(batchIds)].sort());
  if (candidates.length === 0) return new Set();
  return latchAndAnnounce(sql, candidates, ctx);
}

/**
 * What a handler of one batch's input does after its commit: `outcome` as it was, with `completed` set
 * when the batch turned out full and this call completed it. `announces` says whether the outcome kind
 * always reports the flag (a resolving one) or only when it is true (a redelivery, no free slot).
 */
export async function withCompletion<T extends { batchId: string }>(
  sql: Sql,
  outcome: T,
  announces: boolean,
  ctx: HandlerContext,
): Promise<T | (T & { completed: boolean })> {
  const completed = (await completeFullBatches(sql, [outcome.batchId], ctx)).size > 0;
  return announces || completed ? { ...outcome, completed } : outcome;
}

/**
 * The completion sweep's pass: completes up to `limit` batches that are full but were never latched, the
 * batches whose last resolver stopped between its commit and its look (a crash, or a worker older than
 * migration 0006 filling the last slot during a rolling upgrade). Returns the batches it completed.
 */
export async function sweepCompletions(
  sql: Sql,
  limit: number,
  ctx: HandlerContext = {},
): Promise<Set<string>> {
  const candidates = await batchesFullUnlatchedAny(sql, limit);
  if (candidates.length === 0) return new Set();
  return latchAndAnnounce(sql, candidates.sort(), ctx);
}

async function latchAndAnnounce(sql: Sql, batchIds: string[], ctx: HandlerContext): Promise<Set<string>> {
  return inTransaction(sql, async (tx) => {
    const decidedAt = nowOf(ctx);
    const latched = await batchesLatchFull(tx, batchIds, decidedAt);
    const outbound: OutboundEvent[] = [];
    for (const batchId of latched) {
      const completion = await completionEvent(tx, batchId, decidedAt);
      if (completion) outbound.push(completion);
    }
    await outboxInsert(tx, outbound, decidedAt);
    return new Set(latched);
  });
}
