import type { Tx } from '../database';

export type ValidationOutcome = 'pending' | 'slot_failed' | 'no_free_slot';

export interface ValidationFailureRow {
  id: string;
  fileUploadId: string;
  originalFileName: string;
  correlationId: string;
  createdAt: Date;
}

/**
 * Records a failure once per (batch, file_upload_id); a redelivery finds the row and changes nothing, so
 * one failed file never resolves two slots.
 */
export async function validationFailuresInsert(
  tx: Tx,
  batchId: string,
  failure: {
    fileUploadId: string;
    originalFileName: string;
    validationErrorCode: string;
    correlationId: string;
  },
  outcome: ValidationOutcome,
  now: Date,
): Promise<string | undefined> {
  const [row] = await tx<Array<{ id: string }>>`
    insert into validation_failures (batch_id, file_upload_id, original_file_name, validation_error_code,
                                     correlation_id, outcome, created_at)
    values (${batchId}, ${failure.fileUploadId}, ${failure.originalFileName}, ${failure.validationErrorCode},
            ${failure.correlationId}, ${outcome}, ${now})
    on conflict (batch_id, file_upload_id) do nothing
    returning id::text as id`;
  return row?.id;
}

export async function validationFailuresSetOutcome(
  tx: Tx,
  id: string,
  outcome: ValidationOutcome,
  essayId: string | null,
): Promise<void> {
  await tx`update validation_failures set outcome = ${outcome}, essay_id = ${essayId} where id = ${id}::bigint`;
}

/** Pending failures of a batch, in arrival order; runs under the exclusive batch lock (registration). */
export async function validationFailuresPending(tx: Tx, batchId: string): Promise<ValidationFailureRow[]> {
  return tx<ValidationFailureRow[]>`
    select id::text as id, file_upload_id as "fileUploadId", original_file_name as "originalFileName",
           correlation_id as "correlationId", created_at as "createdAt"
    from validation_failures where batch_id = ${batchId} and outcome = 'pending'
    order by id`;
}
