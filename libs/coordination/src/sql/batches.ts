import type { TraceContext } from '@els/contracts';
import type { Tx } from '../database';

export interface BatchRow {
  batchId: string;
  expectedCount: number;
  resolvedCount: number;
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

/** Plain read; callers that need a stable view hold a lock (advisory or the counter's row lock). */
export async function batchesSelect(tx: Tx, batchId: string): Promise<BatchRow | undefined> {
  const [row] = await tx<Array<Omit<BatchRow, 'traceContext'> & TraceColumns>>`
    select batch_id as "batchId", expected_count as "expectedCount", resolved_count as "resolvedCount",
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

/**
 * Adds `resolved` slots to the batch's counter and, in the same statement, sets the completion latch when
 * the counter reaches the slot count. The UPDATE takes the batch row lock: concurrent resolvers queue on it
 * and each re-reads the committed counter, so exactly one of them observes the step to `expected_count`
 * (invariant 4) — and by then every other resolver of this batch has committed its slot change.
 * Returns true for that one transaction only.
 */
export async function batchesAddResolved(
  tx: Tx,
  batchId: string,
  resolved: number,
  now: Date,
): Promise<boolean> {
  if (resolved <= 0) return false;
  const [row] = await tx<{ justCompleted: boolean }[]>`
    update batches
       set resolved_count = resolved_count + ${resolved},
           completed_at = case when resolved_count + ${resolved} = expected_count then ${now}::timestamptz end
     where batch_id = ${batchId}
    returning resolved_count = expected_count as "justCompleted"`;
  return row?.justCompleted ?? false;
}

/** Which of these batches are registered. */
export async function batchesRegistered(tx: Tx, batchIds: string[]): Promise<Set<string>> {
  const rows = await tx<Array<{ batchId: string }>>`
    select batch_id as "batchId" from batches where batch_id = any(${batchIds}::text[])`;
  return new Set(rows.map((r) => r.batchId));
}

/**
 * batchesAddResolved for many batches: first locks their rows in batch-id order (a fixed order, so two
 * transactions never wait on each other's counters in a cycle), then adds every increment in one
 * statement. Returns the batches whose counter this transaction brought to `expected_count`.
 */
export async function batchesAddResolvedMany(
  tx: Tx,
  increments: Array<{ batchId: string; resolved: number }>,
  now: Date,
): Promise<Set<string>> {
  const due = increments.filter((i) => i.resolved > 0).sort((a, b) => (a.batchId < b.batchId ? -1 : 1));
  if (due.length === 0) return new Set();
  await tx`
    select batch_id from batches where batch_id = any(${due.map((d) => d.batchId)}::text[])
    order by batch_id for update`;
  const rows = await tx<Array<{ batchId: string; justCompleted: boolean }>>`
    update batches b
       set resolved_count = b.resolved_count + d.resolved,
           completed_at = case when b.resolved_count + d.resolved = b.expected_count then ${now}::timestamptz end
      from unnest(${due.map((d) => d.batchId)}::text[], ${due.map((d) => d.resolved)}::int[]) as d(batch_id, resolved)
     where b.batch_id = d.batch_id
    returning b.batch_id as "batchId", b.resolved_count = b.expected_count as "justCompleted"`;
  return new Set(rows.filter((r) => r.justCompleted).map((r) => r.batchId));
}
