/** Minimal pino-compatible logger, so the library does not choose a logging package. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: object): Logger;
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

export interface HandlerContext {
  /** Injected time (CONTRIBUTING.md §7); defaults to the wall clock. */
  clock?: () => Date;
  logger?: Logger;
}

export const nowOf = (ctx: HandlerContext): Date => (ctx.clock ? ctx.clock() : new Date());
