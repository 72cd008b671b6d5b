import type { TraceContext } from '@els/contracts';
import type { Tx } from '../database';

export interface SlotFill {
  /** null for a validation failure, which resolves a slot without a text. */
  textStorageId: string | null;
  fileUploadId: string;
  originalFileName: string;
  correlationId: string;
  /**
   * The content event's trace context. Not stored in the slot: only the slot-assigned or excess event
   * written in the same transaction carries it.
   */
  traceContext?: TraceContext | null;
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

/**
 * The completion payload. Called only by the transaction that set the latch, which it set on a snapshot in
 * which every slot of the batch was resolved and committed, so this statement sees every slot.
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

export interface BatchSlotFill extends SlotFill {
  batchId: string;
  textStorageId: string;
}

export interface ClaimedBatchSlot {
  batchId: string;
  essayId: string;
  textStorageId: string;
}

/**
 * The batched fast path of essayStatesClaimFree: fills free slots of many batches in ONE statement. For
 * each batch a LATERAL subquery locks up to as many free slots as that batch has texts, in slot order,
 * with FOR UPDATE SKIP LOCKED (it never waits, so the order in which batches are visited cannot
 * deadlock); the k-th locked slot of a batch takes its k-th text. Texts that get no slot (their batch's
 * free slots are locked by others, or exhausted) are left to the one-by-one path. The partial unique
 * index still rejects a text bound twice (23505), exactly as for the single-batch claim.
 */
export async function essayStatesClaimFreeAcross(
  tx: Tx,
  fills: BatchSlotFill[],
  now: Date,
): Promise<ClaimedBatchSlot[]> {
  if (fills.length === 0) return [];
  return tx<ClaimedBatchSlot[]>`
    with fills as (
      select f.*, row_number() over (partition by f.batch_id order by f.ord) as rn
      from unnest(
        ${fills.map((f) => f.batchId)}::text[],
        ${fills.map((f) => f.textStorageId)}::text[],
        ${fills.map((f) => f.fileUploadId)}::text[],
        ${fills.map((f) => f.originalFileName)}::text[],
        ${fills.map((f) => f.correlationId)}::uuid[]
      ) with ordinality as f(batch_id, text_storage_id, file_upload_id, original_file_name, correlation_id, ord)
    ),
    wanted as (select batch_id, count(*) as n from fills group by batch_id),
    locked as (
      select l.essay_id, l.batch_id, row_number() over (partition by l.batch_id order by l.slot_index) as rn
      from wanted w
      cross join lateral (
        select essay_id, batch_id, slot_index from essay_states
        where batch_id = w.batch_id and status = 'uploaded'
        order by slot_index
        limit w.n
        for update skip locked
      ) l
    )
    update essay_states e
       set status = 'ready_for_processing',
           text_storage_id = fills.text_storage_id,
           file_upload_id = fills.file_upload_id,
           original_file_name = fills.original_file_name,
           content_correlation_id = fills.correlation_id,
           updated_at = ${now}
      from locked join fills using (batch_id, rn)
     where e.essay_id = locked.essay_id
    returning e.batch_id as "batchId", e.essay_id as "essayId", e.text_storage_id as "textStorageId"`;
}

/** Committed holders and excess reports of many (batch, text) pairs, in one statement. */
export async function essayStatesKnownTexts(
  tx: Tx,
  pairs: Array<{ batchId: string; textStorageId: string }>,
): Promise<Array<{ batchId: string; textStorageId: string; essayId: string | null }>> {
  if (pairs.length === 0) return [];
  return tx<Array<{ batchId: string; textStorageId: string; essayId: string | null }>>`
    with pairs as (
      select * from unnest(
        ${pairs.map((p) => p.batchId)}::text[],
        ${pairs.map((p) => p.textStorageId)}::text[]
      ) as p(batch_id, text_storage_id)
    )
    select e.batch_id as "batchId", e.text_storage_id as "textStorageId", e.essay_id as "essayId"
      from essay_states e join pairs p using (batch_id, text_storage_id)
    union all
    select x.batch_id, x.text_storage_id, null
      from excess_reports x join pairs p using (batch_id, text_storage_id)`;
}
