/** Stable error codes of the coordination library (docs/reference/errors.md). */
export const ERROR_CODES = {
  databaseUnavailable: 'ELS_ERR_DATABASE_UNAVAILABLE',
  databaseConflict: 'ELS_ERR_DATABASE_CONFLICT',
  invalidInputData: 'ELS_ERR_INVALID_INPUT_DATA',
  migrationModified: 'ELS_ERR_MIGRATION_MODIFIED',
  migrationsMissing: 'ELS_ERR_MIGRATIONS_MISSING',
  internal: 'ELS_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** A failure with a stable code; retry decisions read `retriable`, never the message. */
export class ElsError extends Error {
  override readonly name = 'ElsError';
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

// SQLSTATE classes: 08 connection, 53 insufficient resources, 57 operator intervention (shutdown),
// 40001 serialization failure, 40P01 deadlock. All go away by themselves: retry.
const RETRIABLE_SQLSTATE = /^(08|53|57|58)|^40001$|^40P01$|^55P03$/;
// Class 22 (data exception, e.g. a NUL byte in a text id) is caused by the message: retrying cannot help.
const INPUT_SQLSTATE = /^22/;
const CONNECTION_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** True for PostgreSQL's unique_violation (23505). */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

/** True for deadlock / serialization failures, which a transaction retry resolves. */
export function isTransactionConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40001' || code === '40P01';
}

/** The one place that turns anything thrown into an ElsError. */
export function coerceError(error: unknown): ElsError {
  if (error instanceof ElsError) return error;
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code && CONNECTION_ERRNO.has(code)) {
    return new ElsError(ERROR_CODES.databaseUnavailable, `database unavailable: ${message}`, true, {
      cause: error,
    });
  }
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    if (isTransactionConflict(error)) {
      return new ElsError(ERROR_CODES.databaseConflict, `transaction conflict: ${message}`, true, {
        cause: error,
      });
    }
    if (RETRIABLE_SQLSTATE.test(code)) {
      return new ElsError(ERROR_CODES.databaseUnavailable, `database unavailable: ${message}`, true, {
        cause: error,
      });
    }
    if (INPUT_SQLSTATE.test(code)) {
      return new ElsError(ERROR_CODES.invalidInputData, `input rejected by the database: ${message}`, false, {
        cause: error,
      });
    }
  }
  // Unknown failures are retried: dead-lettering a valid message because of our own bug would lose it.
  return new ElsError(ERROR_CODES.internal, message, true, { cause: error });
}
