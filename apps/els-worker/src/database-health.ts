import type { ClassifiedFailure, ErrorCode } from '@els/coordination';
import type { Logger } from './logger';

/** What the worker last learned about its database: it takes writes, refuses them, or does not answer. */
export type DatabaseState = 'writable' | 'read-only' | 'unavailable';

/** A finding of the write probe (the shape of `probeDatabaseWritable` in libs/coordination). */
export type ProbeFinding =
  | { readonly state: 'writable' }
  | {
      readonly state: 'read-only' | 'unavailable';
      readonly error: { readonly code: ErrorCode; readonly message: string };
    };

export interface DatabaseHealthOptions {
  /** One write in a transaction of its own, bounded in time (never throws). */
  probe(): Promise<ProbeFinding>;
  logger: Logger;
  onState?(state: DatabaseState): void;
  onProbe?(state: DatabaseState): void;
}

export interface DatabaseHealth {
  /**
   * Before a message is dead-lettered for a failure that is not a known outage: the outage the probe
   * found (retried without limit, named after what the probe saw), or undefined when the database took the
   * write, so the failure is the message's (invariant 6).
   */
  verify(failure: ClassifiedFailure): Promise<ClassifiedFailure | undefined>;
  /** What readiness read (`transaction_read_only`, or no answer), so the state also clears by itself. */
  observe(state: DatabaseState): void;
  /** The last state learned, undefined before the first probe or readiness check. */
  state(): DatabaseState | undefined;
}

/** Holds what the write probe and readiness found out about the database, for metrics and /readyz. */
export function createDatabaseHealth(options: DatabaseHealthOptions): DatabaseHealth {
  let current: DatabaseState | undefined;
  const set = (state: DatabaseState) => {
    if (state === current) return;
    const previous = current;
    current = state;
    if (state === 'writable') {
      if (previous !== undefined) options.logger.info({ state, previous }, 'Database state changed');
    } else options.logger.warn({ state, previous }, 'Database state changed');
    options.onState?.(state);
  };
  return {
    state: () => current,
    observe: set,
    async verify(failure) {
      const finding = await options.probe();
      options.onProbe?.(finding.state);
      set(finding.state);
      if (finding.state === 'writable') {
        options.logger.warn(
          { code: failure.code, err: failure.message },
          'Write probe passed: the failure is not an outage of the database',
        );
        return undefined;
      }
      options.logger.warn(
        { code: failure.code, err: failure.message, state: finding.state, probeError: finding.error.message },
        'Write probe failed: retrying as an outage instead of dead-lettering',
      );
      return {
        code: finding.error.code,
        retriable: true,
        retry: 'unbounded',
        message: `write probe found the database ${finding.state} (${finding.error.message}); the failure was: ${failure.message}`,
        cause: failure.cause,
      };
    },
  };
}
