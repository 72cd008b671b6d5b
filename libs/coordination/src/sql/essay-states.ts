import type { Tx } from '../database';

export interface SlotFill {
  /** null for a validation failure, which resolves a slot without a text. */
  textStorageId: string | null;
  fileUploadId: string;
  originalFileName: string;
  correlationId: string;
}

export interface ClaimedSlot {
  essayId: string;
  textStorageId: string | null;
  fileUploadId: string;
}

/** Inserts the slots of a new batch in registration order (slot_index keeps the order stable). */
export async function essayStatesInsertSlots(
  tx: Tx,
  batchId: string,
  essayIds: string[],
  now: Date,
): Promise<void> {
  await tx`
    insert into essay_states (essay_id, batch_id, slot_index, status, updated_at)
    select id, ${batchId}, ord::int, 'uploaded', ${now}
    from unnest(${essayIds}::text[]) with ordinality as t(id, ord)`;
}

/** Essay ids that already exist (under any batch): registering them again is a conflict. */
export async function essayStatesExisting(
  tx: Tx,
  essayIds: string[],
): Promise<Array<{ essayId: string; batchId: string }>> {
  return tx<Array<{ essayId: string; batchId: string }>>`
    select essay_id as "essayId", batch_id as "batchId"
    from essay_states where essay_id = any(${essayIds}::text[])`;
}

/**
 * Fills up to `fills.length` free slots of one batch in one statement. The CTE picks free slots with
 * FOR UPDATE — SKIP LOCKED (default) so concurrent claimers take different slots instead of queueing, or
 * blocking (`skipLocked: false`) to wait for slots other transactions hold. The LIMIT sits in the CTE so
 * the UPDATE can never touch more rows than were locked. Two transactions binding the same text to two
 * slots collide on the partial unique index (invariant 1): the later one gets 23505 and must re-check.
 */
export async function essayStatesClaimFree(
  tx: Tx,
  batchId: string,
  fills: SlotFill[],
  now: Date,
  options: { skipLocked: boolean } = { skipLocked: true },
): Promise<ClaimedSlot[]> {
  if (fills.length === 0) return [];
  const lock = options.skipLocked ? tx`for update skip locked` : tx`for update`;
  return tx<ClaimedSlot[]>`
    with free as (
      select essay_id, row_number() over (order by slot_index) as rn
      from (
        select essay_id, slot_index from essay_states
        where batch_id = ${batchId} and status = 'uploaded'
        order by slot_index
        limit ${fills.length}
        ${lock}
      ) locked
    ),
    fills as (
      select * from unnest(
        ${fills.map((f) => f.textStorageId)}::text[],
        ${fills.map((f) => f.fileUploadId)}::text[],
        ${fills.map((f) => f.originalFileName)}::text[],
        ${fills.map((f) => f.correlationId)}::uuid[]
      ) with ordinality as f(text_storage_id, file_upload_id, original_file_name, correlation_id, rn)
    )
    update essay_states e
       set status = case when fills.text_storage_id is null then 'validation_failed' else 'ready_for_processing' end,
           text_storage_id = fills.text_storage_id,
           file_upload_id = fills.file_upload_id,
           original_file_name = fills.original_file_name,
           content_correlation_id = fills.correlation_id,
           updated_at = ${now}
      from free join fills using (rn)
     where e.essay_id = free.essay_id
    returning e.essay_id as "essayId", e.text_storage_id as "textStorageId", e.file_upload_id as "fileUploadId"`;
}

export interface TextProbe {
  /** Slot already holding this text (committed), if any. */
  essayId: string | null;
  /** Whether an excess report for this text exists. */
  excessReported: boolean;
  /** Slots still `uploaded` — including ones other transactions have locked but not yet committed. */
  freeSlots: number;
}

/**
 * One statement, so one snapshot: "no slot holds this text" and "no slot is free" are read at the same
 * instant. Only then is "excess" true (invariant 2): a slot being claimed by another transaction still reads
 * as free here, so locked-but-free never counts as exhausted; and a concurrent claim of the same text is
 * either visible as the holder or still shows its slot as free.
 */
export async function essayStatesProbeText(
  tx: Tx,
  batchId: string,
  textStorageId: string | null,
): Promise<TextProbe> {
  const [row] = await tx<TextProbe[]>`
    select
      (select essay_id from essay_states where batch_id = ${batchId} and text_storage_id = ${textStorageId}) as "essayId",
      exists (select 1 from excess_reports where batch_id = ${batchId} and text_storage_id = ${textStorageId})
        as "excessReported",
      (select count(*)::int from essay_states where batch_id = ${batchId} and status = 'uploaded') as "freeSlots"`;
  return row ?? { essayId: null, excessReported: false, freeSlots: 0 };
}

/** Which of these texts already hold a slot of the batch (committed), for the batched fast path. */
export async function essayStatesHoldersOf(
  tx: Tx,
  batchId: string,
  textStorageIds: string[],
): Promise<Map<string, string>> {
  const rows = await tx<Array<{ essayId: string; textStorageId: string }>>`
    select essay_id as "essayId", text_storage_id as "textStorageId"
    from essay_states where batch_id = ${batchId} and text_storage_id = any(${textStorageIds}::text[])`;
  return new Map(rows.map((r) => [r.textStorageId, r.essayId]));
}

/**
 * The completion payload. Called only by the transaction that set the latch: all other resolvers of the
 * batch have committed (they held the counter row lock before us), so this statement sees every slot.
 */
export async function essayStatesAssignedOf(
  tx: Tx,
  batchId: string,
): Promise<Array<{ essay_id: string; text_storage_id: string }>> {
  return tx<Array<{ essay_id: string; text_storage_id: string }>>`
    select essay_id, text_storage_id from essay_states
    where batch_id = ${batchId} and status = 'ready_for_processing'
    order by slot_index`;
}
