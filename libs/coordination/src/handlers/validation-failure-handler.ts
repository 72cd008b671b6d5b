import type { EssayValidationFailed } from '@els/contracts';
import { inTransaction, type Sql } from '../database';
import { nowOf, type HandlerContext } from '../handler-context';
import { batchLockShared } from '../sql/advisory-locks';
import { batchesSelect } from '../sql/batches';
import { validationFailuresInsert, validationFailuresSetOutcome } from '../sql/validation-failures';
import { withCompletion } from './completion';
import { fillOneSlot } from './slot-filler';

export type ValidationFailureOutcome =
  /** `completed`: the batch was completed by this call, after its commit (see completeFullBatches). */
  | { kind: 'slot-failed'; batchId: string; essayId: string; completed: boolean }
  | { kind: 'no-free-slot'; batchId: string; completed?: boolean }
  | { kind: 'pending'; batchId: string }
  | { kind: 'duplicate'; batchId: string; completed?: boolean };

/**
 * A file that failed validation resolves one free slot as failed, once per file_upload_id, so the batch
 * can complete. With no free slot left it is recorded and changes no slot (invariant 7); before
 * registration it is kept as pending and applied by the registration.
 */
export async function handleValidationFailure(
  sql: Sql,
  event: EssayValidationFailed,
  ctx: HandlerContext = {},
): Promise<ValidationFailureOutcome> {
  const outcome = await validationFailureTransaction(sql, event, ctx);
  if (outcome.kind === 'pending') return outcome;
  // A redelivery, or a failure that found no free slot, may meet a full batch nobody announced yet.
  return withCompletion(sql, outcome, outcome.kind === 'slot-failed', ctx);
}

async function validationFailureTransaction(
  sql: Sql,
  event: EssayValidationFailed,
  ctx: HandlerContext,
): Promise<ValidationFailureOutcome> {
  const d = event.data;
  const batchId = d.entity_id;
  const failure = {
    fileUploadId: d.file_upload_id,
    originalFileName: d.original_file_name,
    validationErrorCode: d.validation_error_code,
    correlationId: d.correlation_id,
  };
  return inTransaction(sql, async (tx) => {
    const now = nowOf(ctx);
    if (!(await batchesSelect(tx, batchId))) {
      await batchLockShared(tx, batchId);
      if (!(await batchesSelect(tx, batchId))) {
        const id = await validationFailuresInsert(tx, batchId, failure, 'pending', now);
        return id ? { kind: 'pending', batchId } : { kind: 'duplicate', batchId };
      }
    }
    // The unique (batch, file_upload_id) row is the once-only guard: a redelivery stops here.
    const id = await validationFailuresInsert(tx, batchId, failure, 'no_free_slot', now);
    if (!id) return { kind: 'duplicate', batchId };
    const result = await fillOneSlot(
      tx,
      batchId,
      {
        textStorageId: null,
        fileUploadId: d.file_upload_id,
        originalFileName: d.original_file_name,
        correlationId: d.correlation_id,
      },
      now,
      // This transaction holds no slot (its only row so far is the validation failure's own).
      { mayWait: true },
    );
    if (result.kind !== 'filled') return { kind: 'no-free-slot', batchId };
    await validationFailuresSetOutcome(tx, id, 'slot_failed', result.slot.essayId);
    return { kind: 'slot-failed', batchId, essayId: result.slot.essayId, completed: false };
  });
}
