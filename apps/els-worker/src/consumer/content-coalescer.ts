import type { EssayContentProvisioned } from '@els/contracts';
import type { ContentOutcome } from '../coordination-port';

export type ContentBatchHandler = (envelopes: EssayContentProvisioned[]) => Promise<ContentOutcome[]>;

export interface ContentCoalescerOptions {
  /** Most events in one database call; a single caller's run is never split. */
  maxEvents: number;
  /**
   * True for failures that would fail any call alike (database down, deadlock, a timeout: the unbounded
   * retry policy): every caller gets the shared error and retries on its own schedule, instead of a round
   * of separate calls that fail too. Anything else (refused input, an unexpected failure) may belong to
   * one run only, so it must not reach, or count against, the others.
   */
  isUnavailability(error: unknown): boolean;
  /** Told about every database call made: its duration, its events and how many callers shared it. */
  onCall?: (call: { durationMs: number; events: number; callers: number; ok: boolean }) => void;
}

interface Waiting {
  envelopes: EssayContentProvisioned[];
  resolve(outcomes: ContentOutcome[]): void;
  reject(error: unknown): void;
}

/**
 * Group commit for content runs. Each partition's batch handler hands in its run of content events and
 * waits for their outcomes; while one database call is in flight, runs handed in by other partitions
 * queue, and the next call takes all of them together (up to `maxEvents`), so one transaction and one
 * durable commit serve many partitions. Each caller still gets exactly the outcomes of its own events, in
 * its own order, and resolves its offsets only after the shared transaction committed.
 *
 * When a shared call fails for a reason of its own content (an unusable event, a conflict, an unexpected
 * error), every run of it is retried in a transaction of its own before anyone is told, so only the
 * caller it belongs to fails. Unavailability (database down) is handed to every caller as it is.
 */
export function coalesceContentBatches(
  handle: ContentBatchHandler,
  options: ContentCoalescerOptions,
): ContentBatchHandler {
  const queue: Waiting[] = [];
  let draining = false;

  async function call(envelopes: EssayContentProvisioned[], callers: number): Promise<ContentOutcome[]> {
    const started = performance.now();
    let ok = false;
    try {
      const outcomes = await handle(envelopes);
      ok = true;
      return outcomes;
    } finally {
      options.onCall?.({ durationMs: performance.now() - started, events: envelopes.length, callers, ok });
    }
  }

  async function runAlone(waiting: Waiting): Promise<void> {
    try {
      waiting.resolve(await call(waiting.envelopes, 1));
    } catch (error) {
      waiting.reject(error);
    }
  }

  async function runGroup(group: Waiting[]): Promise<void> {
    const first = group[0];
    if (group.length === 1 && first) return runAlone(first);
    const envelopes = group.flatMap((waiting) => waiting.envelopes);
    let outcomes: ContentOutcome[];
    try {
      outcomes = await call(envelopes, group.length);
    } catch (error) {
      if (options.isUnavailability(error)) {
        for (const waiting of group) waiting.reject(error);
        return;
      }
      for (const waiting of group) await runAlone(waiting);
      return;
    }
    if (outcomes.length !== envelopes.length) {
      const error = new Error(
        `content handler returned ${outcomes.length} outcomes for ${envelopes.length} events`,
      );
      for (const waiting of group) waiting.reject(error);
      return;
    }
    let at = 0;
    for (const waiting of group) {
      waiting.resolve(outcomes.slice(at, at + waiting.envelopes.length));
      at += waiting.envelopes.length;
    }
  }

  function takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    let events = 0;
    while (queue.length > 0) {
      const next = queue[0] as Waiting;
      if (group.length > 0 && events + next.envelopes.length > options.maxEvents) break;
      group.push(next);
      events += next.envelopes.length;
      queue.shift();
    }
    return group;
  }

  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    try {
      while (queue.length > 0) await runGroup(takeGroup());
    } finally {
      draining = false;
    }
  }

  return (envelopes) =>
    new Promise<ContentOutcome[]>((resolve, reject) => {
      queue.push({ envelopes, resolve, reject });
      void drain();
    });
}
