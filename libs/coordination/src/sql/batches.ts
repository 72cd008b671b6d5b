import type { TraceContext } from '@els/contracts';
import type { Sql, Tx } from '../database';

export interface BatchRow {
  batchId: string;
  expectedCount: number;
  courseCode: string;
  userId: string;
  correlationId: string;
  /** The registration's trace context; null when it carried none (or an invalid one). */
  traceContext: TraceContext | null;
  completedAt: Date | null;
}

/** The two nullable columns that hold a trace context (migration 0005). */
export interface TraceColumns {
  traceparent: string | null;
  tracestate: string | null;
}

export const traceColumnsOf = (context: TraceContext | null | undefined): TraceColumns => ({
  traceparent: context?.traceparent ?? null,
  tracestate: context?.traceparent === undefined ? null : (context.tracestate ?? null),
});

export const traceContextOfColumns = ({ traceparent, tracestate }: TraceColumns): TraceContext | null =>
  traceparent === null ? null : tracestate === null ? { traceparent } : { traceparent, tracestate };

/** Plain read; callers that need a stable view hold a lock (advisory, or the latch's row lock). */
export async function batchesSelect(tx: Tx, batchId: string): Promise<BatchRow | undefined> {
  const [row] = await tx<Array<Omit<BatchRow, 'traceContext'> & TraceColumns>>`
    select batch_id as "batchId", expected_count as "expectedCount",
           course_code as "courseCode", user_id as "userId", correlation_id as "correlationId",
           traceparent, tracestate, completed_at as "completedAt"
    from batches where batch_id = ${batchId}`;
  if (!row) return undefined;
  const { traceparent, tracestate, ...batch } = row;
  return { ...batch, traceContext: traceContextOfColumns({ traceparent, tracestate }) };
}

export interface BatchInsert {
  batchId: string;
  expectedCount: number;
  courseCode: string;
  userId: string;
  classId: string | null;
  correlationId: string;
  registrationEventId: string;
  traceContext: TraceContext | null;
}

/** Runs under the exclusive batch lock; ON CONFLICT makes a redelivered registration a no-op (invariant 8). */
export async function batchesInsert(tx: Tx, batch: BatchInsert, now: Date): Promise<boolean> {
  const trace = traceColumnsOf(batch.traceContext);
  const rows = await tx`
    insert into batches (batch_id, expected_count, course_code, user_id, class_id, correlation_id,
                         registration_event_id, traceparent, tracestate, created_at)
    values (${batch.batchId}, ${batch.expectedCount}, ${batch.courseCode}, ${batch.userId}, ${batch.classId},
            ${batch.correlationId}, ${batch.registrationEventId}, ${trace.traceparent}, ${trace.tracestate}, ${now})
    on conflict (batch_id) do nothing
    returning batch_id`;
  return rows.length === 1;
}

/** Which of these batches are registered. */
export async function batchesRegistered(tx: Tx, batchIds: string[]): Promise<Set<string>> {
  const rows = await tx<Array<{ batchId: string }>>`
    select batch_id as "batchId" from batches where batch_id = any(${batchIds}::text[])`;
  return new Set(rows.map((r) => r.batchId));
}

/**
 * Of these batches, the ones whose every slot is resolved in committed rows and whose latch is unset: a
 * plain read, no lock. It only says which batches are worth latching (`batchesLatchFull` decides). A slot
 * another transaction is filling still reads as free here until that transaction commits, and that
 * transaction looks after its commit.
 */
export async function batchesFullUnlatched(sql: Sql | Tx, batchIds: string[]): Promise<string[]> {
  if (batchIds.length === 0) return [];
  const rows = await sql<Array<{ batchId: string }>>`
    select b.batch_id as "batchId" from batches b
     where b.batch_id = any(${batchIds}::text[]) and b.completed_at is null
       and not exists (select 1 from essay_states e where e.batch_id = b.batch_id and e.status = 'uploaded')`;
  return rows.map((r) => r.batchId);
}

/**
 * Sets the completion latch of those of these batches that are full and not yet latched, and returns
 * them (invariant 4). The rows are locked in batch-id order, so two latching transactions never wait on
 * each other in a cycle; one that waited for a row another transaction latched re-reads it after that
 * commit, finds `completed_at` set and leaves it out. "Full" is read in this statement's snapshot, which
 * holds every resolver's commit that came before it: a batch is latched only once its last slot's change
 * is committed and visible, so the completion built next in this transaction lists every slot.
 */
export async function batchesLatchFull(tx: Tx, batchIds: string[], now: Date): Promise<string[]> {
  if (batchIds.length === 0) return [];
  const rows = await tx<Array<{ batchId: string }>>`
    with due as (
      select b.batch_id from batches b
       where b.batch_id = any(${batchIds}::text[]) and b.completed_at is null
         and not exists (select 1 from essay_states e where e.batch_id = b.batch_id and e.status = 'uploaded')
       order by b.batch_id
       for update
    )
    update batches b set completed_at = ${now}::timestamptz
      from due
     where b.batch_id = due.batch_id and b.completed_at is null
    returning b.batch_id as "batchId"`;
  return rows.map((r) => r.batchId).sort();
}

/** Batches not yet latched whose every slot is resolved, oldest first: what the completion sweep looks for. */
export async function batchesFullUnlatchedAny(sql: Sql | Tx, limit: number): Promise<string[]> {
  const rows = await sql<Array<{ batchId: string }>>`
    select b.batch_id as "batchId" from batches b
     where b.completed_at is null
       and not exists (select 1 from essay_states e where e.batch_id = b.batch_id and e.status = 'uploaded')
     order by b.created_at
     limit ${limit}`;
  return rows.map((r) => r.batchId);
}
