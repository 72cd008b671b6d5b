import { coerceError } from './errors';
import type { Logger } from './handler-context';
import { createWakeableSleep } from './wakeable-sleep';

export interface PeriodicTask {
  /** Starts the loop; the first pass runs right away. Idempotent. */
  start(): void;
  /** Resolves once the pass in progress ended. Idempotent and safe before start(). */
  stop(): Promise<void>;
  /** True from stop() on: a long pass checks it between its steps. */
  readonly stopping: boolean;
}

/**
 * Runs `pass` every `intervalMs` (measured from the end of one pass to the start of the next) until
 * stopped. A failed pass is logged with `failureMessage` and retried an interval later: nothing may
 * depend on one pass.
 */
export function createPeriodicTask(options: {
  intervalMs: number;
  pass: () => Promise<unknown>;
  logger: Logger;
  failureMessage: string;
}): PeriodicTask {
  let running = false;
  let stopping = false;
  let loop: Promise<void> | undefined;
  const pause = createWakeableSleep();

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        await options.pass();
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
    start() {
      if (running) return;
      running = true;
      stopping = false;
      loop = run();
    },
    async stop() {
      if (!running) return;
      running = false;
      stopping = true;
      pause.wake();
      await loop;
      loop = undefined;
    },
    get stopping() {
      return stopping;
    },
  };
}
