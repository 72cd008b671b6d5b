import { TOPICS } from '@els/contracts';
import type { EssayContentProvisioned } from '@els/contracts';
import type { Sql } from '../database';
import { handleContent, handleContentBatch, type ContentOutcome } from '../handlers/content-handler';

/** The two content paths whose guarantees must be identical. */
export const CONTENT_PATHS: Array<
  [string, (sql: Sql, events: EssayContentProvisioned[]) => Promise<ContentOutcome[]>]
> = [
  ['one-by-one', (sql, events) => Promise.all(events.map((e) => handleContent(sql, e)))],
  ['batched', (sql, events) => handleContentBatch(sql, events)],
];

export async function outboxCount(sql: Sql, topic: string, batchId: string): Promise<number> {
  const [row] = await sql<Array<{ n: number }>>`
    select count(*)::int as n from outbox where topic = ${topic}
      and (payload->'data'->>'batch_id') = ${batchId}`;
  return row?.n ?? 0;
}

export async function slotCounts(sql: Sql, batchId: string) {
  const [row] = await sql<
    Array<{ assigned: number; failed: number; free: number; excess: number; pending: number }>
  >`
    select
      (select count(*)::int from essay_states where batch_id = ${batchId} and status = 'ready_for_processing') as assigned,
      (select count(*)::int from essay_states where batch_id = ${batchId} and status = 'validation_failed') as failed,
      (select count(*)::int from essay_states where batch_id = ${batchId} and status = 'uploaded') as free,
      (select count(*)::int from excess_reports where batch_id = ${batchId}) as excess,
      (select count(*)::int from pending_content where batch_id = ${batchId}) as pending`;
  return row as { assigned: number; failed: number; free: number; excess: number; pending: number };
}

export const completionCount = (sql: Sql, batchId: string) =>
  outboxCount(sql, TOPICS.batchContentProvisioningCompleted, batchId);

/** Splits a list into `parts` round-robin chunks (one per simulated replica). */
export function deal<T>(items: T[], parts: number): T[][] {
  const out: T[][] = Array.from({ length: parts }, () => []);
  items.forEach((item, i) => out[i % parts]?.push(item));
  return out;
}

export function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
