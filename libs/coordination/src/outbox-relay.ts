import type { Sql } from './database';
import { coerceError } from './errors';
import type { Logger } from './handler-context';
import {
  outboxBacklog,
  outboxClaimDue,
  outboxMarkFailed,
  outboxMarkPublished,
  type OutboxRow,
} from './sql/outbox';

export type OutboxMessage = Omit<OutboxRow, 'attempts'>;
export type PublishResult = { ok: true } | { ok: false; error: Error };
/** Publishes messages (same order in the results); the worker's Kafka adapter implements it. */
export type OutboxPublisher = (messages: OutboxMessage[]) => Promise<PublishResult[]>;

export type RelayEvent =
  | { type: 'published'; count: number; lagMs: number[] }
  | { type: 'publish-failed'; count: number; error: string }
  | { type: 'backlog'; rows: number; oldestAgeMs: number };

export interface OutboxRelayOptions {
  sql: Sql;
  publisher: OutboxPublisher;
  batchSize: number;
  pollIntervalMs: number;
  maxBackoffMs: number;
  logger: Logger;
  onEvent?: (event: RelayEvent) => void;
  clock?: () => Date;
  /** LISTEN channel; the outbox trigger notifies `els_outbox`. */
  channel?: string;
}

export interface OutboxRelay {
  start(): Promise<void>;
  /** Publishes everything due now (used at shutdown); rows that fail stay for later. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const BASE_BACKOFF_MS = 200;

/**
 * Publishes the outbox. Runs in every replica: each pass claims a disjoint set of rows with SKIP LOCKED,
 * publishes them with their stored event ids, and marks them published in the same transaction. A crash
 * after publishing and before the commit leaves the rows unpublished, so they are published again with
 * the same id: at least once, never lost (invariant 5). Woken by LISTEN/NOTIFY, polling as the fallback.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { sql, publisher, logger } = options;
  const clock = options.clock ?? (() => new Date());
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let listener: { unlisten(): Promise<void> } | undefined;
  let lastBacklogAt = 0;
  // A NOTIFY that arrives while a pass runs must not be lost: remember it and skip the next sleep.
  let notified = false;

  async function publishOnce(): Promise<number> {
    return sql.begin(async (tx) => {
      const rows = await outboxClaimDue(tx, options.batchSize, clock());
      if (rows.length === 0) return 0;
      const results = await publisher(rows).catch((error: unknown) =>
        rows.map((): PublishResult => ({ ok: false, error: coerceError(error) })),
      );
      const now = clock();
      const published = rows.filter((_, i) => results[i]?.ok === true);
      await outboxMarkPublished(
        tx,
        published.map((r) => r.id),
        now,
      );
      const failures = rows
        .map((row, i) => ({ row, result: results[i] }))
        .filter((f) => f.result?.ok !== true);
      for (const { row, result } of failures) {
        const message = result && !result.ok ? result.error.message : 'no publish result';
        const backoffMs = Math.min(options.maxBackoffMs, BASE_BACKOFF_MS * 2 ** Math.min(row.attempts, 16));
        await outboxMarkFailed(tx, row.id, message, backoffMs, now);
      }
      if (published.length > 0) {
        options.onEvent?.({
          type: 'published',
          count: published.length,
          lagMs: published.map((r) => now.getTime() - r.createdAt.getTime()),
        });
      }
      if (failures.length > 0) {
        const error = failures[0]?.result;
        const message = error && !error.ok ? error.error.message : 'unknown';
        options.onEvent?.({ type: 'publish-failed', count: failures.length, error: message });
        logger.warn(
          { rows: failures.length, error: message },
          'Outbox rows failed to publish; retrying with backoff',
        );
      }
      // A full batch of successes means more may be waiting; failures alone do not spin the loop.
      return published.length === options.batchSize ? rows.length : 0;
    });
  }

  async function reportBacklog(): Promise<void> {
    if (!options.onEvent || Date.now() - lastBacklogAt < options.pollIntervalMs) return;
    lastBacklogAt = Date.now();
    const backlog = await outboxBacklog(sql, clock());
    options.onEvent({ type: 'backlog', ...backlog });
  }

  function sleep(ms: number): Promise<void> {
    if (notified) {
      notified = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        notified = false;
        const more = await publishOnce();
        await reportBacklog();
        failures = 0;
        if (more === 0 && running) await sleep(options.pollIntervalMs);
      } catch (error) {
        failures++;
        const err = coerceError(error);
        logger.error({ code: err.code, error: err.message, failures }, 'Outbox relay pass failed');
        if (running)
          await sleep(Math.min(options.maxBackoffMs, BASE_BACKOFF_MS * 2 ** Math.min(failures, 10)));
      }
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      try {
        listener = await sql.listen(options.channel ?? 'els_outbox', () => {
          if (wake) wake();
          else notified = true;
        });
      } catch (error) {
        logger.warn({ error: coerceError(error).message }, 'LISTEN failed; relay falls back to polling');
      }
      loop = run();
    },
    async flush() {
      while ((await publishOnce()) > 0) {
        // keep draining full batches
      }
    },
    async stop() {
      if (!running) return;
      running = false;
      wake?.();
      await loop;
      await listener?.unlisten().catch(() => undefined);
      listener = undefined;
    },
  };
}
