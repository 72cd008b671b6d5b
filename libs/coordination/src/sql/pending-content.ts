import type { Tx } from '../database';

export interface PendingContentRow {
  textStorageId: string;
  fileUploadId: string;
  originalFileName: string;
  correlationId: string;
  createdAt: Date;
}

/** Runs under the shared batch lock after re-checking that the batch does not exist (invariant 7). */
export async function pendingContentInsert(
  tx: Tx,
  batchId: string,
  row: Omit<PendingContentRow, 'createdAt'>,
  now: Date,
): Promise<boolean> {
  const inserted = await tx`
    insert into pending_content (batch_id, text_storage_id, file_upload_id, original_file_name, correlation_id, created_at)
    values (${batchId}, ${row.textStorageId}, ${row.fileUploadId}, ${row.originalFileName}, ${row.correlationId}, ${now})
    on conflict (batch_id, text_storage_id) do nothing
    returning id`;
  return inserted.length === 1;
}

/**
 * Takes every pending text of a batch, in arrival order, and deletes them. Runs under the exclusive batch
 * lock, which waits for every transaction still inserting pending rows for this batch.
 */
export async function pendingContentTake(tx: Tx, batchId: string): Promise<PendingContentRow[]> {
  return tx<PendingContentRow[]>`
    delete from pending_content where batch_id = ${batchId}
    returning text_storage_id as "textStorageId", file_upload_id as "fileUploadId",
              original_file_name as "originalFileName", correlation_id as "correlationId", created_at as "createdAt"`;
}
