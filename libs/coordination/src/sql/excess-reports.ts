import type { Tx } from '../database';

/**
 * One report per (batch, text): a second writer waits on the unique index and then does nothing, so the
 * excess event is written once however many replicas see the text (invariant 3).
 */
export async function excessReportsInsert(
  tx: Tx,
  batchId: string,
  report: { textStorageId: string; originalFileName: string; correlationId: string },
  now: Date,
): Promise<boolean> {
  const rows = await tx`
    insert into excess_reports (batch_id, text_storage_id, original_file_name, correlation_id, created_at)
    values (${batchId}, ${report.textStorageId}, ${report.originalFileName}, ${report.correlationId}, ${now})
    on conflict (batch_id, text_storage_id) do nothing
    returning id`;
  return rows.length === 1;
}
