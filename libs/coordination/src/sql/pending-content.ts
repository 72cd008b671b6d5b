import type { TraceContext } from '@els/contracts';
import type { Tx } from '../database';
import { traceColumnsOf, traceContextOfColumns, type TraceColumns } from './batches';

export interface PendingContentRow {
  textStorageId: string;
  fileUploadId: string;
  originalFileName: string;
  correlationId: string;
  /** The content event's trace context, for the slot-assigned or excess event the registration writes. */
  traceContext: TraceContext | null;
  createdAt: Date;
}

/** Runs under the shared batch lock after re-checking that the batch does not exist (invariant 7). */
export async function pendingContentInsert(
  tx: Tx,
  batchId: string,
  row: Omit<PendingContentRow, 'createdAt' | 'traceContext'> & { traceContext?: TraceContext | null },
  now: Date,
): Promise<boolean> {
  const trace = traceColumnsOf(row.traceContext);
  const inserted = await tx`
    insert into pending_content (batch_id, text_storage_id, file_upload_id, original_file_name, correlation_id,
                                 traceparent, tracestate, created_at)
    values (${batchId}, ${row.textStorageId}, ${row.fileUploadId}, ${row.originalFileName}, ${row.correlationId},
            ${trace.traceparent}, ${trace.tracestate}, ${now})
    on conflict (batch_id, text_storage_id) do nothing
    returning id`;
  return inserted.length === 1;
}

/**
 * Takes every pending text of a batch, in arrival order, and deletes them. Runs under the exclusive batch
 * lock, which waits for every transaction still inserting pending rows for this batch.
 */
export async function pendingContentTake(tx: Tx, batchId: string): Promise<PendingContentRow[]> {
  const rows = await tx<Array<Omit<PendingContentRow, 'traceContext'> & TraceColumns>>`
    delete from pending_content where batch_id = ${batchId}
    returning text_storage_id as "textStorageId", file_upload_id as "fileUploadId",
              original_file_name as "originalFileName", correlation_id as "correlationId",
              traceparent, tracestate, created_at as "createdAt"`;
  return rows.map(({ traceparent, tracestate, ...row }) => ({
    ...row,
    traceContext: traceContextOfColumns({ traceparent, tracestate }),
  }));
}
