import type { Sql } from './database';
import type { Logger } from './handler-context';
import { createSweeper, type Sweeper } from './periodic-sweeper';
import { outboxDeletePublishedBefore, outboxRowCounts } from './sql/outbox';

export type SweeperEvent =
  { type: 'pruned'; count: number } | { type: 'rows'; published: number; unpublished: number };

export interface OutboxSweeperOptions {
  sql: Sql;
  /** Published rows older than this are deleted. */
  retentionMs: number;
  /** Pause between passes. */
  intervalMs: number;
  /** Rows deleted by one statement (one short transaction) at most. */
  batchSize: number;
  logger: Logger;
  onEvent?: (event: SweeperEvent) => void;
  /** Pins "now" in tests; without it the database's clock decides. */
  clock?: () => Date;
}

export type OutboxSweeper = Sweeper;

/**
 * Prunes published outbox rows after their retention (invariant 12). Runs in every replica: each delete
 * takes its rows with SKIP LOCKED, so replicas split the work and neither they nor the relay ever wait on
 * each other. Unpublished rows are never touched (invariant 5). A pass deletes in statements of at most
 * `batchSize` rows until a statement finds fewer, then reports the table's row counts.
 */
export function createOutboxSweeper(options: OutboxSweeperOptions): OutboxSweeper {
  const { sql, logger } = options;

  async function sweep(stopping: () => boolean): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await outboxDeletePublishedBefore(sql, {
        retentionMs: options.retentionMs,
        limit: options.batchSize,
        now: options.clock?.(),
      });
      total += deleted;
      // A partial batch means nothing expired is left (or what is left is locked: next pass).
      if (deleted < options.batchSize || stopping()) break;
    }
    if (total > 0) {
      options.onEvent?.({ type: 'pruned', count: total });
      logger.info({ rows: total, retentionMs: options.retentionMs }, 'Published outbox rows pruned');
    }
    if (options.onEvent) options.onEvent({ type: 'rows', ...(await outboxRowCounts(sql)) });
    return total;
  }

  return createSweeper({
    intervalMs: options.intervalMs,
    pass: sweep,
    logger,
    // Nothing depends on a pass: the next one, an interval later, picks up where this one failed.
    failureMessage: 'Outbox sweep failed; retrying',
  });
}
