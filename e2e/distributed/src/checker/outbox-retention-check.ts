import type { Sql } from '@els/coordination';

/**
 * Invariant 12 under load: published outbox rows are pruned after their retention, and only those. A run
 * with a short retention (scenario 7) reads the table after it settled. An unpublished row the pruner
 * deleted never reaches its topic, which the checker's `lost` set names; this check adds what the history
 * cannot show: that the table shrank, and that no published row outlives its retention by more than a
 * pruning interval (and a slack for the database's clock against the pruner's).
 */

export interface OutboxRetentionSettings {
  retentionMs: number;
  pruneIntervalMs: number;
}

export interface OutboxRetentionObservation {
  /** Distinct events on the output topics: every one was an outbox row once. */
  eventsPublished: number;
  /** Rows in the table when the check ended. */
  rowsLeft: number;
  /** Published rows older than the retention, one pruning interval and the slack, when the check ended. */
  overdueRows: number;
  /** How long the check waited for the overdue rows to go. */
  waitedMs: number;
}

export const RETENTION_SLACK_MS = 2000;

/** Published rows the pruner should have deleted by now, and every row. */
export async function readOutboxRetention(
  sql: Sql,
  settings: OutboxRetentionSettings,
): Promise<{ rowsLeft: number; overdueRows: number }> {
  const overdueMs = settings.retentionMs + settings.pruneIntervalMs + RETENTION_SLACK_MS;
  const [row] = await sql<Array<{ rows_left: number; overdue: number }>>`
    select count(*)::int as rows_left,
           (count(*) filter (where published_at < now() - make_interval(secs => ${overdueMs / 1000})))::int as overdue
    from outbox`;
  return { rowsLeft: row?.rows_left ?? 0, overdueRows: row?.overdue ?? 0 };
}

export function judgeOutboxRetention(
  observation: OutboxRetentionObservation,
  settings: OutboxRetentionSettings,
): string[] {
  const problems: string[] = [];
  if (observation.overdueRows > 0) {
    problems.push(
      `${observation.overdueRows} published outbox rows older than the retention (${settings.retentionMs} ms) plus a pruning interval (${settings.pruneIntervalMs} ms) after waiting ${observation.waitedMs} ms`,
    );
  }
  if (observation.eventsPublished > 0 && observation.rowsLeft >= observation.eventsPublished) {
    problems.push(
      `the outbox never shrank: ${observation.rowsLeft} rows left for ${observation.eventsPublished} events published`,
    );
  }
  return problems;
}
