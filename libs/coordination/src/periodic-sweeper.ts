import { coerceError } from './errors';
import type { Logger } from './handler-context';
import { createWakeableSleep } from './wakeable-sleep';

/** A part that runs a pass every interval: the outbox sweeper, the completion sweeper. */
export interface Sweeper {
  /** Resolves once the sweeper runs; the first pass starts right away. */
  start(): Promise<void>;
  /** One pass now. Returns what it did (rows deleted, batches completed). */
  sweep(): Promise<number>;
  /** Resolves once the pass in progress ended. Idempotent and safe before start(). */
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `intervalMs` (measured from the end of one pass to the start of the next) until
 * stopped. A failed pass is logged with `failureMessage` and retried an interval later: nothing may
 * depend on one pass. `pass` is told whether a stop was asked for, to end a long pass between its steps.
 */
export function createSweeper(options: {
  intervalMs: number;
  pass: (stopping: () => boolean) => Promise<number>;
  logger: Logger;
  failureMessage: string;
}): Sweeper {
  let running = false;
  let stopping = false;
  let loop: Promise<void> | undefined;
  const pause = createWakeableSleep();
  const sweep = () => options.pass(() => stopping);

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        await sweep();
        failures = 0;
      } catch (error) {
        failures++;
        const err = coerceError(error);
        options.logger.warn({ code: err.code, error: err.message, failures }, options.failureMessage);
      }
      if (running) await pause.sleep(options.intervalMs);
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      stopping = false;
      loop = run();
    },
    sweep,
    async stop() {
      if (!running) return;
      running = false;
      stopping = true;
      pause.wake();
      await loop;
      loop = undefined;
    },
  };
}
