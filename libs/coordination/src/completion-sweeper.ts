import type { Sql } from './database';
import type { HandlerContext, Logger } from './handler-context';
import { sweepCompletions } from './handlers/completion';
import { createSweeper, type Sweeper } from './periodic-sweeper';

export interface CompletionSweeperOptions {
  sql: Sql;
  /** Pause between passes. */
  intervalMs: number;
  /** Batches completed by one transaction at most; a pass repeats until it finds fewer. */
  batchSize: number;
  logger: Logger;
  /** Told how many batches a pass completed (only when it completed any). */
  onCompleted?: (count: number) => void;
  /** Pins "now" in tests. */
  clock?: () => Date;
}

/** `sweep()` completes every batch that is full and was never announced, and returns how many. */
export type CompletionSweeper = Sweeper;

/**
 * The completion's safety net (invariant 4). Every handler completes the batches it resolved after its
 * commit; a batch whose last resolver stopped between its commit and that look (killed, or a worker from
 * before migration 0006 during a rolling upgrade) is otherwise completed only by a redelivery of one of its
 * inputs. Each pass finds such batches and completes them through the same latch, so a sweep racing a
 * handler (or another replica's sweep) announces a batch once. Runs in every replica.
 */
export function createCompletionSweeper(options: CompletionSweeperOptions): CompletionSweeper {
  const ctx: HandlerContext = options.clock ? { clock: options.clock } : {};

  async function sweep(stopping: () => boolean): Promise<number> {
    let total = 0;
    for (;;) {
      const completed = await sweepCompletions(options.sql, options.batchSize, ctx);
      total += completed.size;
      if (completed.size < options.batchSize || stopping()) break;
    }
    if (total > 0) {
      options.onCompleted?.(total);
      // Usually a race with the handler that resolved the last slot, which looks a moment after its commit.
      options.logger.info({ batches: total }, 'Completion sweep completed full batches');
    }
    return total;
  }

  return createSweeper({
    intervalMs: options.intervalMs,
    pass: sweep,
    logger: options.logger,
    failureMessage: 'Completion sweep failed; retrying',
  });
}
