import type { Sql } from './database';
import { coerceError } from './errors';
import type { Logger } from './handler-context';
import { createWakeableSleep } from './wakeable-sleep';
import {
  outboxBacklog,
  outboxClaimAndMark,
  outboxMarkFailed,
  outboxRelayBoundIdleTime,
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
  /**
   * A publish that has not answered by then counts as failed for its rows (backoff, published again later
   * with the same event id), so the claim transaction and its row locks are bounded in time (invariant 11).
   */
  publishTimeoutMs?: number;
  logger: Logger;
  onEvent?: (event: RelayEvent) => void;
  clock?: () => Date;
  /**
   * LISTEN channel; the outbox trigger notifies `els_outbox` with the writing session's application_name
   * (migration 0004).
   */
  channel?: string;
}

export interface OutboxRelay {
  start(): Promise<void>;
  /** Publishes everything due now (used at shutdown); rows that fail stay for later. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const BASE_BACKOFF_MS = 200;
const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;
/**
 * The claim transaction idles while Kafka answers: its session may stay idle in transaction for the
 * publish timeout plus this margin (the session-wide default is shorter), and no longer, so a relay
 * whose process stops mid-publish releases its row locks.
 */
export const RELAY_IDLE_MARGIN_MS = 2000;

/** The application_name of the relay's sessions, which the outbox trigger names in its NOTIFY. */
async function sessionOrigin(sql: Sql): Promise<string> {
  const [row] = await sql<Array<{ name: string | null }>>`
    select current_setting('application_name', true) as name`;
  return row?.name ?? '';
}

/**
 * Publishes the outbox. Runs in every replica: each pass claims a disjoint set of rows with SKIP LOCKED and
 * marks them published in one statement, publishes them with their stored event ids, reverts the mark of
 * the rows whose publish failed, and commits. A crash
 * after publishing and before the commit leaves the rows unpublished, so they are published again with
 * the same id: at least once, never lost (invariant 5). Woken by LISTEN/NOTIFY for the rows its own replica
 * wrote, polling as the fallback (which also publishes what a stopped peer left).
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { sql, publisher, logger } = options;
  const clock = options.clock ?? (() => new Date());
  let running = false;
  let loop: Promise<void> | undefined;
  const pause = createWakeableSleep();
  let listener: { unlisten(): Promise<void> } | undefined;
  let lastBacklogAt = 0;
  // A NOTIFY that arrives while a pass runs must not be lost: remember it and skip the next sleep.
  let notified = false;
  const publishTimeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;

  /** The publisher's answer, or a failure for every row once the publish timeout has passed. */
  async function publishWithin(rows: OutboxRow[]): Promise<PublishResult[]> {
    const failAll = (error: Error) => rows.map((): PublishResult => ({ ok: false, error }));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<PublishResult[]>((resolve) => {
      timer = setTimeout(
        () => resolve(failAll(new Error(`publish timed out after ${publishTimeoutMs} ms`))),
        publishTimeoutMs,
      );
    });
    try {
      return await Promise.race([
        publisher(rows).catch((error: unknown) => failAll(coerceError(error))),
        timedOut,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function publishOnce(): Promise<number> {
    return sql.begin(async (tx) => {
      const rows = await outboxClaimAndMark(tx, options.batchSize, clock());
      if (rows.length === 0) return 0;
      await outboxRelayBoundIdleTime(tx, publishTimeoutMs + RELAY_IDLE_MARGIN_MS);
      const results = await publishWithin(rows);
      const now = clock();
      const published = rows.filter((_, i) => results[i]?.ok === true);
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

  /** Reads the backlog (one statement), reports it, and returns how many rows are due. */
  async function readBacklog(): Promise<number> {
    lastBacklogAt = Date.now();
    const { rows, oldestAgeMs, due } = await outboxBacklog(sql, clock());
    options.onEvent?.({ type: 'backlog', rows, oldestAgeMs });
    return due;
  }

  /** The backlog gauge, at most once per poll interval, after a claim pass. */
  async function reportBacklog(): Promise<void> {
    if (!options.onEvent || Date.now() - lastBacklogAt < options.pollIntervalMs) return;
    await readBacklog();
  }

  /**
   * A pass after a quiet sleep: one statement tells whether any row is due (and refreshes the backlog),
   * so an idle relay does not open a claim transaction every poll interval.
   */
  const anythingDue = async () => (await readBacklog()) > 0;

  /** Sleeps unless a NOTIFY came during the pass; true when something woke it (a NOTIFY, stop). */
  function sleep(ms: number): Promise<boolean> {
    if (notified) {
      notified = false;
      return Promise.resolve(true);
    }
    return pause.sleep(ms);
  }

  async function run(): Promise<void> {
    let failures = 0;
    // After a pass that found nothing and a sleep that ran out without a NOTIFY, probe before claiming.
    let quiet = false;
    while (running) {
      try {
        notified = false;
        if (quiet && !(await anythingDue())) {
          quiet = running && !(await sleep(options.pollIntervalMs));
          continue;
        }
        quiet = false;
        const more = await publishOnce();
        await reportBacklog();
        failures = 0;
        if (more === 0 && running) quiet = !(await sleep(options.pollIntervalMs));
      } catch (error) {
        quiet = false;
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
        const origin = await sessionOrigin(sql);
        listener = await sql.listen(options.channel ?? 'els_outbox', (writer) => {
          // A peer's rows are its own relay's to publish; this relay's polling takes them over if that
          // peer stopped first. An empty payload (no application_name, or a trigger older than 0004)
          // is for every relay.
          if (writer !== '' && origin !== '' && writer !== origin) return;
          if (!pause.wake()) notified = true;
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
      pause.wake();
      await loop;
      await listener?.unlisten().catch(() => undefined);
      listener = undefined;
    },
  };
}
