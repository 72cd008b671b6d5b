import type { Logger } from '@els/coordination';
import pino from 'pino';

/**
 * The logging surface every component receives is the coordination library's pino-compatible `Logger`
 * (`log.info({ batchId }, 'Slot assigned')`, one child per component); re-exported so app modules import it
 * from one place.
 */
export type { Logger };

export type ComponentName =
  'main' | 'consumer' | 'relay' | 'sweeper' | 'completion-sweeper' | 'http' | 'redis' | 'kafka';

export interface RootLoggerOptions {
  level: string;
  pretty: boolean;
  instanceId: string;
}

/** JSON lines on stdout by default; human-readable lines through pino-pretty when `pretty` is set. */
export function createRootLogger(options: RootLoggerOptions): pino.Logger {
  return pino({
    level: options.level,
    base: { instanceId: options.instanceId },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(options.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  });
}

/** The child logger of one component; every line it writes carries `component` and `instanceId`. */
export function componentLogger(root: Logger, component: ComponentName): Logger {
  return root.child({ component });
}

/** A logger that drops everything (tests that do not look at logs). */
export { silentLogger } from '@els/coordination';
