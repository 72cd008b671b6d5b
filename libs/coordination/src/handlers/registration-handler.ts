import {
  buildEssaySlotAssigned,
  buildExcessContentProvisioned,
  traceContextOf,
  type BatchEssaysRegistered,
  type OutboundEvent,
} from '@els/contracts';
import { inTransaction, withSavepoint, type Sql } from '../database';
import { nowOf, type HandlerContext } from '../handler-context';
import { batchLockExclusive } from '../sql/advisory-locks';
import { batchesInsert } from '../sql/batches';
import {
  essayStatesClaimFree,
  essayStatesExisting,
  essayStatesInsertSlots,
  type SlotFill,
} from '../sql/essay-states';
import { excessReportsInsert } from '../sql/excess-reports';
import { outboxInsert } from '../sql/outbox';
import { pendingContentTake, type PendingContentRow } from '../sql/pending-content';
import {
  validationFailuresPending,
  validationFailuresSetOutcome,
  type ValidationFailureRow,
} from '../sql/validation-failures';
import { withCompletion } from './completion';

export type RegistrationOutcome =
  | {
      kind: 'registered';
      batchId: string;
      slots: number;
      assignedFromPending: number;
      excessFromPending: number;
      failedFromPending: number;
      /** The batch was completed by this call, after the registration's commit. */
      completed: boolean;
    }
  /** `completed`: see completeFullBatches (a redelivery that finds the batch full but not yet announced). */
  | { kind: 'duplicate'; batchId: string; completed?: boolean }
  | { kind: 'conflict'; batchId: string; essayIds: string[] };

type Arrival =
  | { kind: 'text'; at: Date; row: PendingContentRow }
  | { kind: 'failure'; at: Date; row: ValidationFailureRow };

/**
 * Creates the batch and its slots and applies everything that arrived before it, in one transaction under
 * the exclusive batch lock (invariant 7). A redelivered registration finds the batch and is acknowledged
 * with no change (invariant 8). Essay ids registered under another batch are a conflict: nothing is written
 * and the caller dead-letters the message. Once committed, a batch whose slots the early arrivals filled is
 * completed (invariant 4).
 */
export async function handleRegistration(
  sql: Sql,
  event: BatchEssaysRegistered,
  ctx: HandlerContext = {},
): Promise<RegistrationOutcome> {
  const outcome = await registrationTransaction(sql, event, ctx);
  if (outcome.kind === 'conflict') return outcome;
  return withCompletion(sql, outcome, outcome.kind === 'registered', ctx);
}

async function registrationTransaction(
  sql: Sql,
  event: BatchEssaysRegistered,
  ctx: HandlerContext,
): Promise<RegistrationOutcome> {
  const d = event.data;
  const batchId = d.entity_id;
  return inTransaction(sql, async (tx) => {
    const now = nowOf(ctx);
    await batchLockExclusive(tx, batchId);
    const conflictWith = async (): Promise<RegistrationOutcome | undefined> => {
      const taken = await essayStatesExisting(tx, d.essay_ids);
      if (taken.length === 0) return undefined;
      if (taken.every((t) => t.batchId === batchId)) return { kind: 'duplicate', batchId };
      return {
        kind: 'conflict',
        batchId,
        essayIds: taken.filter((t) => t.batchId !== batchId).map((t) => t.essayId),
      };
    };
    const before = await conflictWith();
    if (before) return before;
    // Another batch registering one of these essay ids at the same moment collides on the primary key
    // once it commits; the savepoint undoes our batch row and slots, and a fresh look names the conflict.
    const created = await withSavepoint(
      tx,
      async (sp) => {
        const inserted = await batchesInsert(
          sp,
          {
            batchId,
            expectedCount: d.essay_ids.length,
            courseCode: d.course_code,
            userId: d.user_id,
            classId: d.class_id ?? null,
            correlationId: event.correlation_id,
            registrationEventId: event.event_id,
            traceContext: traceContextOf(event.metadata),
          },
          now,
        );
        if (inserted) await essayStatesInsertSlots(sp, batchId, d.essay_ids, now);
        return inserted ? ('created' as const) : ('duplicate' as const);
      },
      () => 'collided' as const,
    );
    if (created === 'duplicate') return { kind: 'duplicate', batchId };
    if (created === 'collided') {
      const after = await conflictWith();
      if (after) return after;
      throw new Error(`essay ids of batch ${batchId} collided on insert but no holder is visible`);
    }

    const arrivals: Arrival[] = [
      ...(await pendingContentTake(tx, batchId)).map((row): Arrival => ({
        kind: 'text',
        at: row.createdAt,
        row,
      })),
      ...(await validationFailuresPending(tx, batchId)).map((row): Arrival => ({
        kind: 'failure',
        at: row.createdAt,
        row,
      })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime());

    const fitting = arrivals.slice(0, d.essay_ids.length);
    const overflow = arrivals.slice(d.essay_ids.length);
    const fills: SlotFill[] = fitting.map((a) =>
      a.kind === 'text'
        ? { ...a.row }
        : {
            textStorageId: null,
            fileUploadId: a.row.fileUploadId,
            originalFileName: a.row.originalFileName,
            correlationId: a.row.correlationId,
          },
    );
    // Nobody else can see this batch yet, so every slot is free and unlocked: one statement fills them.
    const claimed = await essayStatesClaimFree(tx, batchId, fills, now);
    // Pair each claimed slot with its arrival by what the slot now holds, not by the order of RETURNING
    // (which SQL does not promise): a text by its storage id, a failure (no text) by its file upload id.
    const keyOf = (textStorageId: string | null, fileUploadId: string) =>
      textStorageId === null ? `failure\u0000${fileUploadId}` : `text\u0000${textStorageId}`;
    const arrivalOf = new Map(
      fitting.map((arrival) => [
        arrival.kind === 'text'
          ? keyOf(arrival.row.textStorageId, arrival.row.fileUploadId)
          : keyOf(null, arrival.row.fileUploadId),
        arrival,
      ]),
    );
    const outbound: OutboundEvent[] = [];
    let failed = 0;
    for (const slot of claimed) {
      const arrival = arrivalOf.get(keyOf(slot.textStorageId, slot.fileUploadId));
      if (!arrival) throw new Error(`claimed slot ${slot.essayId} matches no pending arrival of ${batchId}`);
      if (arrival.kind === 'text') {
        outbound.push(buildEssaySlotAssigned({ batchId, essayId: slot.essayId, ...arrival.row, at: now }));
      } else {
        failed++;
        await validationFailuresSetOutcome(tx, arrival.row.id, 'slot_failed', slot.essayId);
      }
    }
    let excess = 0;
    for (const arrival of overflow) {
      if (arrival.kind === 'failure') {
        await validationFailuresSetOutcome(tx, arrival.row.id, 'no_free_slot', null);
      } else if (await excessReportsInsert(tx, batchId, arrival.row, now)) {
        excess++;
        outbound.push(buildExcessContentProvisioned({ batchId, ...arrival.row, at: now }));
      }
    }
    await outboxInsert(tx, outbound, now);
    return {
      kind: 'registered',
      batchId,
      slots: d.essay_ids.length,
      assignedFromPending: claimed.length - failed,
      excessFromPending: excess,
      failedFromPending: failed,
      completed: false,
    };
  });
}
