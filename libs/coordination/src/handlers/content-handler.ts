import {
  buildEssaySlotAssigned,
  buildExcessContentProvisioned,
  traceContextOf,
  type EssayContentProvisioned,
  type OutboundEvent,
} from '@els/contracts';
import { claimInSavepoint, inTransaction, type Sql, type Tx } from '../database';
import { nowOf, type HandlerContext } from '../handler-context';
import { batchLockShared } from '../sql/advisory-locks';
import { batchesRegistered, batchesSelect } from '../sql/batches';
import { essayStatesClaimFreeAcross, essayStatesKnownTexts, type BatchSlotFill } from '../sql/essay-states';
import { excessReportsInsert } from '../sql/excess-reports';
import { outboxInsert } from '../sql/outbox';
import { pendingContentInsert } from '../sql/pending-content';
import { completeFullBatches } from './completion';
import { fillOneSlot } from './slot-filler';

export type ContentOutcome =
  /**
   * `completed`: the batch was completed by this call, once its outcomes were committed; set on one outcome
   * per completed batch: an assigned one when there is one, else a duplicate (a redelivery that completes a
   * batch whose last resolver stopped before it looked) or an excess report (a text that found the batch
   * full a moment before the last resolver looked).
   */
  | { kind: 'assigned'; batchId: string; essayId: string; textStorageId: string; completed: boolean }
  | { kind: 'duplicate'; batchId: string; textStorageId: string; essayId: string | null; completed?: boolean }
  | { kind: 'excess'; batchId: string; textStorageId: string; completed?: boolean }
  | { kind: 'pending'; batchId: string; textStorageId: string };

interface Text {
  index: number;
  fill: BatchSlotFill;
}

const pairKey = (batchId: string, textStorageId: string) => `${batchId}\u0000${textStorageId}`;

/** One content event in its own transaction: the batched path with a list of one. */
export async function handleContent(
  sql: Sql,
  event: EssayContentProvisioned,
  ctx: HandlerContext = {},
): Promise<ContentOutcome> {
  const [outcome] = await handleContentBatch(sql, [event], ctx);
  return outcome as ContentOutcome;
}

/**
 * Many content events (one Kafka batch) in ONE transaction, with set-based statements whatever the number
 * of batches involved: one to find the registered batches, one for texts already assigned or excess, one
 * multi-batch SKIP LOCKED claim, one outbox insert. Only texts the claim could not place (their batch's
 * free slots locked by other transactions, or exhausted) take the one-by-one path (`fillOneSlot`), which
 * waits for locked slots instead of reporting excess — but only while the transaction holds no slot of its
 * own: a text that would have to wait after that is deferred, and each deferred text runs after the commit
 * in a transaction of its own, which holds nothing when it waits. So no two content transactions ever wait
 * for each other's slots (a deadlock, which PostgreSQL breaks only after `deadlock_timeout`).
 *
 * No content transaction touches a batch row: once every transaction of the call has committed, the
 * batches it touched are completed if full (`completeFullBatches`, invariant 4), so the transactions of
 * replicas filling the same batches never queue behind one another on it. The guarantees are those of the
 * one-by-one path; `handleContent` is this function with a list of one.
 */
export async function handleContentBatch(
  sql: Sql,
  events: EssayContentProvisioned[],
  ctx: HandlerContext = {},
): Promise<ContentOutcome[]> {
  if (events.length === 0) return [];
  const { outcomes, deferred } = await contentTransaction(sql, events, ctx);
  for (const index of deferred) {
    const event = events[index] as EssayContentProvisioned;
    const alone = await contentTransaction(sql, [event], ctx);
    outcomes[index] = alone.outcomes[0] as ContentOutcome;
  }
  // Every outcome but `pending` belongs to a registered batch: an assignment may have resolved its last
  // slot, and a duplicate or an excess report may be the redelivery of a text whose replica committed it
  // and stopped before it looked.
  const touched = outcomes.filter((o) => o.kind !== 'pending').map((o) => o.batchId);
  const completed = await completeFullBatches(sql, touched, ctx);
  for (const batchId of completed) {
    const ofBatch = outcomes.filter((o) => o.batchId === batchId && o.kind !== 'pending');
    const outcome = ofBatch.find((o) => o.kind === 'assigned') ?? ofBatch[0];
    if (outcome && outcome.kind !== 'pending') outcome.completed = true;
  }
  return outcomes;
}

/**
 * One transaction over `events`. `deferred`: indexes of texts that found only slots other transactions
 * hold after this one had claimed slots; their outcomes are left unset.
 */
async function contentTransaction(
  sql: Sql,
  events: EssayContentProvisioned[],
  ctx: HandlerContext,
): Promise<{ outcomes: ContentOutcome[]; deferred: number[] }> {
  return inTransaction(sql, async (tx) => {
    const now = nowOf(ctx);
    const outcomes: ContentOutcome[] = new Array(events.length);
    const outbound: OutboundEvent[] = [];

    // A repeated (batch, text) inside the list is a duplicate of its first occurrence.
    const firsts = new Map<string, Text>();
    events.forEach((event, index) => {
      const d = event.data;
      const key = pairKey(d.entity_id, d.text_storage_id);
      if (firsts.has(key)) {
        outcomes[index] = {
          kind: 'duplicate',
          batchId: d.entity_id,
          textStorageId: d.text_storage_id,
          essayId: null,
        };
        return;
      }
      firsts.set(key, {
        index,
        fill: {
          batchId: d.entity_id,
          textStorageId: d.text_storage_id,
          fileUploadId: d.file_upload_id,
          originalFileName: d.original_file_name,
          correlationId: d.correlation_id,
          traceContext: traceContextOf(event.metadata),
        },
      });
    });
    let open = [...firsts.values()];

    const batchIds = [...new Set(open.map((t) => t.fill.batchId))].sort();
    const registered = await batchesRegistered(tx, batchIds);
    for (const batchId of batchIds.filter((id) => !registered.has(id))) {
      if (await storePending(tx, batchId, open, now, outcomes)) continue;
      registered.add(batchId);
    }
    open = open.filter((t) => registered.has(t.fill.batchId));

    const known = new Map(
      (
        await essayStatesKnownTexts(
          tx,
          open.map((t) => t.fill),
        )
      ).map((k) => [pairKey(k.batchId, k.textStorageId), k]),
    );
    open = open.filter((text) => {
      const hit = known.get(pairKey(text.fill.batchId, text.fill.textStorageId));
      if (!hit) return true;
      outcomes[text.index] = { ...duplicateOf(text), essayId: hit.essayId };
      return false;
    });

    // Fast path. If a concurrent transaction bound one of these texts meanwhile (23505), the savepoint
    // rolls back and every text goes one by one; if it claimed nothing, it rolls back too, so this
    // transaction holds no slot lock when a text then waits (claimInSavepoint, FillOptions).
    const fastClaim =
      open.length === 0
        ? []
        : await claimInSavepoint(tx, (sp) =>
            essayStatesClaimFreeAcross(
              sp,
              open.map((t) => t.fill),
              now,
            ),
          );
    const claimed = fastClaim === 'collided' ? [] : fastClaim;
    const byPair = new Map(open.map((t) => [pairKey(t.fill.batchId, t.fill.textStorageId), t]));
    const assigned: Array<{ text: Text; essayId: string }> = [];
    for (const slot of claimed) {
      const key = pairKey(slot.batchId, slot.textStorageId);
      const text = byPair.get(key);
      if (!text) continue;
      assigned.push({ text, essayId: slot.essayId });
      byPair.delete(key);
    }

    const leftovers = [...byPair.values()].sort((a, b) => (a.fill.batchId < b.fill.batchId ? -1 : 1));
    const deferred: number[] = [];
    for (const text of leftovers) {
      // Waiting for another transaction's slot is safe only while this one holds none (FillOptions).
      const result = await fillOneSlot(tx, text.fill.batchId, text.fill, now, {
        mayWait: assigned.length === 0,
      });
      if (result.kind === 'busy') deferred.push(text.index);
      else if (result.kind === 'filled') assigned.push({ text, essayId: result.slot.essayId });
      else if (result.kind === 'already-assigned')
        outcomes[text.index] = { ...duplicateOf(text), essayId: result.essayId };
      else if (
        result.kind === 'exhausted' &&
        (await excessReportsInsert(tx, text.fill.batchId, text.fill, now))
      ) {
        outcomes[text.index] = {
          kind: 'excess',
          batchId: text.fill.batchId,
          textStorageId: text.fill.textStorageId,
        };
        outbound.push(buildExcessContentProvisioned({ ...text.fill, at: now }));
      } else outcomes[text.index] = duplicateOf(text);
    }

    for (const { text, essayId } of assigned) {
      const { batchId, textStorageId } = text.fill;
      outcomes[text.index] = { kind: 'assigned', batchId, essayId, textStorageId, completed: false };
      outbound.push(buildEssaySlotAssigned({ ...text.fill, essayId, at: now }));
    }
    await outboxInsert(tx, outbound, now);
    return { outcomes, deferred };
  });
}

function duplicateOf(text: Text): ContentOutcome & { kind: 'duplicate' } {
  return {
    kind: 'duplicate',
    batchId: text.fill.batchId,
    textStorageId: text.fill.textStorageId,
    essayId: null,
  };
}

/**
 * Texts of a batch that is not registered (yet): re-checked under the shared batch lock, which a running
 * registration holds exclusively; if still absent, they are stored as pending and the registration drains
 * them (invariant 7). Returns false when the batch turned out to be registered after all.
 */
async function storePending(
  tx: Tx,
  batchId: string,
  texts: Text[],
  now: Date,
  outcomes: ContentOutcome[],
): Promise<boolean> {
  await batchLockShared(tx, batchId);
  if (await batchesSelect(tx, batchId)) return false;
  for (const text of texts.filter((t) => t.fill.batchId === batchId)) {
    const inserted = await pendingContentInsert(tx, batchId, text.fill, now);
    outcomes[text.index] = inserted
      ? { kind: 'pending', batchId, textStorageId: text.fill.textStorageId }
      : duplicateOf(text);
  }
  return true;
}
