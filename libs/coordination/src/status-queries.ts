import type { Sql } from './database';

export interface EssayStatus {
  essayId: string;
  batchId: string;
  status: string;
  textStorageId: string | null;
  fileUploadId: string | null;
  updatedAt: string;
}

export interface BatchStatus {
  batchId: string;
  courseCode: string;
  expectedCount: number;
  assignedCount: number;
  failedCount: number;
  freeCount: number;
  resolvedCount: number;
  excessCount: number;
  completedAt: string | null;
  createdAt: string;
  essays: EssayStatus[];
}

interface EssayRow {
  essayId: string;
  batchId: string;
  status: string;
  textStorageId: string | null;
  fileUploadId: string | null;
  updatedAt: Date;
}

const toEssayStatus = (row: EssayRow): EssayStatus => ({ ...row, updatedAt: row.updatedAt.toISOString() });

/** Read-only view for the HTTP API; plain reads, no locks. */
export async function batchStatus(sql: Sql, batchId: string): Promise<BatchStatus | undefined> {
  const [batch] = await sql<
    Array<{
      courseCode: string;
      expectedCount: number;
      completedAt: Date | null;
      createdAt: Date;
      excessCount: number;
    }>
  >`
    select course_code as "courseCode", expected_count as "expectedCount",
           completed_at as "completedAt", created_at as "createdAt",
           (select count(*)::int from excess_reports x where x.batch_id = b.batch_id) as "excessCount"
    from batches b where batch_id = ${batchId}`;
  if (!batch) return undefined;
  const essays = (
    await sql<EssayRow[]>`
      select essay_id as "essayId", batch_id as "batchId", status, text_storage_id as "textStorageId",
             file_upload_id as "fileUploadId", updated_at as "updatedAt"
      from essay_states where batch_id = ${batchId} order by slot_index`
  ).map(toEssayStatus);
  const count = (status: string) => essays.filter((e) => e.status === status).length;
  return {
    batchId,
    courseCode: batch.courseCode,
    expectedCount: batch.expectedCount,
    assignedCount: count('ready_for_processing'),
    failedCount: count('validation_failed'),
    freeCount: count('uploaded'),
    resolvedCount: count('ready_for_processing') + count('validation_failed'),
    excessCount: batch.excessCount,
    completedAt: batch.completedAt ? batch.completedAt.toISOString() : null,
    createdAt: batch.createdAt.toISOString(),
    essays,
  };
}

export async function essayStatus(sql: Sql, essayId: string): Promise<EssayStatus | undefined> {
  const [row] = await sql<EssayRow[]>`
    select essay_id as "essayId", batch_id as "batchId", status, text_storage_id as "textStorageId",
           file_upload_id as "fileUploadId", updated_at as "updatedAt"
    from essay_states where essay_id = ${essayId}`;
  return row ? toEssayStatus(row) : undefined;
}
