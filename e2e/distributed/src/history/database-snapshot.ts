import type { Sql } from '@els/coordination';

/**
 * The database as a second witness of a run: every slot, batch, validation failure, excess report and
 * pending text of the run's batches, and the outbox rows still unpublished, read once the run settled.
 */
export interface DatabaseSnapshot {
  slots: { batch_id: string; essay_id: string; status: string; text_storage_id: string | null }[];
  excess: { batch_id: string; text_storage_id: string }[];
  pending: { batch_id: string; text_storage_id: string }[];
  /** One row per registered batch. */
  batches: { batch_id: string; expected_count: number; correlation_id: string }[];
  validationFailures: {
    batch_id: string;
    file_upload_id: string;
    outcome: string;
    essay_id: string | null;
  }[];
  unpublishedOutboxRows: number;
}

export async function readDatabaseSnapshot(sql: Sql, batchIds: readonly string[]): Promise<DatabaseSnapshot> {
  const ids = [...batchIds];
  const slots = await sql<DatabaseSnapshot['slots']>`
    select batch_id, essay_id, status, text_storage_id from essay_states where batch_id = any(${ids})`;
  const batches = await sql<DatabaseSnapshot['batches']>`
    select batch_id, expected_count, correlation_id::text as correlation_id from batches
    where batch_id = any(${ids})`;
  const validationFailures = await sql<DatabaseSnapshot['validationFailures']>`
    select batch_id, file_upload_id, outcome, essay_id from validation_failures where batch_id = any(${ids})`;
  const excess = await sql<DatabaseSnapshot['excess']>`
    select batch_id, text_storage_id from excess_reports where batch_id = any(${ids})`;
  const pending = await sql<DatabaseSnapshot['pending']>`
    select batch_id, text_storage_id from pending_content where batch_id = any(${ids})`;
  const [outbox] = await sql<
    { n: number }[]
  >`select count(*)::int as n from outbox where published_at is null`;
  return {
    slots: [...slots],
    excess: [...excess],
    pending: [...pending],
    batches: [...batches],
    validationFailures: [...validationFailures],
    unpublishedOutboxRows: outbox?.n ?? 0,
  };
}
