import {
  buildEssaySlotAssigned,
  buildExcessContentProvisioned,
  type EssayContentProvisioned,
  type OutboundEvent,
} from '@els/contracts';
import { inTransaction, withSavepoint, type Sql, type Tx } from '../database';
import { nowOf, type HandlerContext } from '../handler-context';
import { batchLockShared } from '../sql/advisory-locks';
import { batchesSelect } from '../sql/batches';
import { essayStatesClaimFree, essayStatesHoldersOf, type SlotFill } from '../sql/essay-states';
import { excessReportsExisting, excessReportsInsert } from '../sql/excess-reports';
import { outboxInsert } from '../sql/outbox';
import { pendingContentInsert } from '../sql/pending-content';
import { resolveSlots } from './completion';
import { fillOneSlot } from './slot-filler';

export type ContentOutcome =
  | { kind: 'assigned'; batchId: string; essayId: string; textStorageId: string; completed: boolean }
  | { kind: 'duplicate'; batchId: string; textStorageId: string; essayId: string | null }
  | { kind: 'excess'; batchId: string; textStorageId: string }
  | { kind: 'pending'; batchId: string; textStorageId: string };

interface Text {
  index: number;
  batchId: string;
  fill: SlotFill & { textStorageId: string };
}

/** One content event in its own transaction. */
export async function handleContent(
  sql: Sql,
  event: EssayContentProvisioned,
  ctx: HandlerContext = {},
): Promise<ContentOutcome> {
  const [outcome] = await handleContentBatch(sql, [event], ctx);
  return outcome as ContentOutcome;
}

/**
 * Many content events (one Kafka batch) in ONE transaction, grouped by batch in batch-id order (a fixed
 * lock order between concurrent batched transactions). Per batch: duplicates are filtered with one
 * statement, as many texts as there are unlocked free slots are assigned with one statement, and only the
 * rest takes the one-by-one path. The guarantees are those of the one-by-one path: the single-event
 * handler is this function with a list of one.
 */
export async function handleContentBatch(
  sql: Sql,
  events: EssayContentProvisioned[],
  ctx: HandlerContext = {},
): Promise<ContentOutcome[]> {
  if (events.length === 0) return [];
  return inTransaction(sql, async (tx) => {
    const now = nowOf(ctx);
    const outcomes: ContentOutcome[] = new Array(events.length);
    const groups = new Map<string, Text[]>();
    events.forEach((event, index) => {
      const d = event.data;
      const text: Text = {
        index,
        batchId: d.entity_id,
        fill: {
          textStorageId: d.text_storage_id,
          fileUploadId: d.file_upload_id,
          originalFileName: d.original_file_name,
          correlationId: d.correlation_id,
        },
      };
      groups.set(d.entity_id, [...(groups.get(d.entity_id) ?? []), text]);
    });
    const outbound: OutboundEvent[] = [];
    for (const batchId of [...groups.keys()].sort()) {
      await assignGroup(tx, batchId, groups.get(batchId) ?? [], now, outcomes, outbound);
    }
    await outboxInsert(tx, outbound, now);
    return outcomes;
  });
}

async function assignGroup(
  tx: Tx,
  batchId: string,
  texts: Text[],
  now: Date,
  outcomes: ContentOutcome[],
  outbound: OutboundEvent[],
): Promise<void> {
  // A repeated text inside the list is a duplicate of its first occurrence.
  const firsts = new Map<string, Text>();
  for (const text of texts) {
    const first = firsts.get(text.fill.textStorageId);
    if (first)
      outcomes[text.index] = {
        kind: 'duplicate',
        batchId,
        textStorageId: text.fill.textStorageId,
        essayId: null,
      };
    else firsts.set(text.fill.textStorageId, text);
  }
  let open = [...firsts.values()];

  if (!(await batchesSelect(tx, batchId))) {
    // Not registered (yet): re-check under the shared batch lock, which a running registration holds
    // exclusively; if still absent, the registration will drain what we store (invariant 7).
    await batchLockShared(tx, batchId);
    if (!(await batchesSelect(tx, batchId))) {
      for (const text of open) {
        const inserted = await pendingContentInsert(tx, batchId, text.fill, now);
        outcomes[text.index] = inserted
          ? { kind: 'pending', batchId, textStorageId: text.fill.textStorageId }
          : { kind: 'duplicate', batchId, textStorageId: text.fill.textStorageId, essayId: null };
      }
      return;
    }
  }

  const ids = open.map((t) => t.fill.textStorageId);
  const holders = await essayStatesHoldersOf(tx, batchId, ids);
  const excess = await excessReportsExisting(tx, batchId, ids);
  open = open.filter((text) => {
    const holder = holders.get(text.fill.textStorageId);
    if (holder === undefined && !excess.has(text.fill.textStorageId)) return true;
    outcomes[text.index] = {
      kind: 'duplicate',
      batchId,
      textStorageId: text.fill.textStorageId,
      essayId: holder ?? null,
    };
    return false;
  });

  const assigned: Array<{ text: Text; essayId: string }> = [];
  // Fast path: one statement for as many texts as there are unlocked free slots. If a concurrent
  // transaction bound one of these texts meanwhile, the savepoint rolls back and all go one by one.
  const claimed = await withSavepoint(
    tx,
    (sp) =>
      essayStatesClaimFree(
        sp,
        batchId,
        open.map((t) => t.fill),
        now,
      ),
    () => [],
  );
  const byText = new Map(open.map((t) => [t.fill.textStorageId, t]));
  for (const slot of claimed) {
    const text = slot.textStorageId ? byText.get(slot.textStorageId) : undefined;
    if (!text) continue;
    assigned.push({ text, essayId: slot.essayId });
    byText.delete(slot.textStorageId as string);
  }

  for (const text of byText.values()) {
    const result = await fillOneSlot(tx, batchId, text.fill, now);
    const textStorageId = text.fill.textStorageId;
    if (result.kind === 'filled') assigned.push({ text, essayId: result.slot.essayId });
    else if (result.kind === 'already-assigned') {
      outcomes[text.index] = { kind: 'duplicate', batchId, textStorageId, essayId: result.essayId };
    } else if (result.kind === 'already-excess') {
      outcomes[text.index] = { kind: 'duplicate', batchId, textStorageId, essayId: null };
    } else if (await excessReportsInsert(tx, batchId, text.fill, now)) {
      outcomes[text.index] = { kind: 'excess', batchId, textStorageId };
      outbound.push(buildExcessContentProvisioned({ batchId, ...text.fill, at: now }));
    } else {
      outcomes[text.index] = { kind: 'duplicate', batchId, textStorageId, essayId: null };
    }
  }

  const completion = await resolveSlots(tx, batchId, assigned.length, now);
  for (const { text, essayId } of assigned) {
    outcomes[text.index] = {
      kind: 'assigned',
      batchId,
      essayId,
      textStorageId: text.fill.textStorageId,
      completed: completion !== undefined,
    };
    outbound.push(buildEssaySlotAssigned({ batchId, essayId, ...text.fill, at: now }));
  }
  if (completion) outbound.push(completion);
}
