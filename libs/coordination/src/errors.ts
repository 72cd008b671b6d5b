/** Stable error codes of the coordination library (docs/reference/errors.md). */
export const ERROR_CODES = {
  databaseUnavailable: 'ELS_ERR_DATABASE_UNAVAILABLE',
  databaseConflict: 'ELS_ERR_DATABASE_CONFLICT',
  invalidInputData: 'ELS_ERR_INVALID_INPUT_DATA',
  databaseRejected: 'ELS_ERR_DATABASE_REJECTED',
  migrationModified: 'ELS_ERR_MIGRATION_MODIFIED',
  migrationsMissing: 'ELS_ERR_MIGRATIONS_MISSING',
  internal: 'ELS_ERR_INTERNAL',
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * How often a failure may be retried:
 * - `unbounded`: unavailability (database, broker, Redis down, a lock or statement timeout). It goes away
 *   by itself, so it is retried for as long as the worker runs and never dead-letters valid input.
 * - `bounded`: unexpected (a JS error the handlers did not anticipate, an unknown SQLSTATE). It may be a
 *   passing glitch or a poison message: retried a bounded number of times, then dead-lettered.
 * - `never`: the message itself is refused for a permanent reason: dead-lettered at once.
 */
export type RetryPolicy = 'unbounded' | 'bounded' | 'never';

/** `retriable` wins over a contradicting policy: it is false exactly when the policy is `never`. */
function policyOf(retriable: boolean, requested: RetryPolicy | undefined): RetryPolicy {
  if (!retriable) return 'never';
  return requested === 'bounded' ? 'bounded' : 'unbounded';
}

/**
 * A failure with a stable code. Retry decisions read `retriable` (may it be retried at all) and `retry`
 * (how often), never the message. `retry` defaults to `unbounded` when retriable, `never` otherwise.
 */
export class ElsError extends Error {
  override readonly name = 'ElsError';
  readonly retry: RetryPolicy;
  constructor(
    readonly code: string,
    message: string,
    readonly retriable: boolean,
    options: { cause?: unknown; retry?: RetryPolicy } = {},
  ) {
    super(message, { cause: options.cause });
    this.retry = policyOf(retriable, options.retry);
  }
}

interface SqlStateRule {
  /** A two-character SQLSTATE class or a full five-character SQLSTATE; the longest match wins. */
  readonly sqlState: string;
  readonly code: ErrorCode;
  readonly retry: RetryPolicy;
  readonly meaning: string;
}

/**
 * How each PostgreSQL SQLSTATE is handled (docs/reference/errors.md lists the same table).
 *
 * Retried without limit — the condition goes away by itself, the message is not at fault:
 *   08 connection exception; 53 insufficient resources (disk full, out of memory, too many connections);
 *   57 operator intervention (57014 query_canceled, raised by statement_timeout; 57P01-57P03 the server
 *   shutting down or not accepting connections yet); 58 system error (I/O); 40 transaction rollback
 *   (40001 serialization failure, 40P01 deadlock); 55P03 lock_not_available (lock_timeout);
 *   25P03 idle_in_transaction_session_timeout.
 * Permanent — the database refuses this message's data and always will: dead-lettered at once:
 *   22 data exception (a NUL byte, an out-of-range number) → ELS_ERR_INVALID_INPUT_DATA;
 *   54 program limit exceeded (an index row too large), 23 integrity constraint violation the handlers
 *   did not expect (the expected 23505s are handled in savepoints and never get here), 40002 (an
 *   integrity violation found at commit), XX internal error (corruption) → ELS_ERR_DATABASE_REJECTED.
 * Any other SQLSTATE is unexpected: ELS_ERR_INTERNAL with the bounded policy.
 */
export const SQLSTATE_RULES: readonly SqlStateRule[] = [
  {
    sqlState: '08',
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'connection exception',
  },
  {
    sqlState: '53',
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'insufficient resources',
  },
  {
    sqlState: '57',
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'operator intervention',
  },
  { sqlState: '58', code: ERROR_CODES.databaseUnavailable, retry: 'unbounded', meaning: 'system error' },
  { sqlState: '40', code: ERROR_CODES.databaseConflict, retry: 'unbounded', meaning: 'transaction rollback' },
  {
    sqlState: '40002',
    code: ERROR_CODES.databaseRejected,
    retry: 'never',
    meaning: 'transaction integrity constraint violation',
  },
  {
    sqlState: '55P03',
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'lock not available',
  },
  {
    sqlState: '25P03',
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'idle in transaction session timeout',
  },
  { sqlState: '22', code: ERROR_CODES.invalidInputData, retry: 'never', meaning: 'data exception' },
  { sqlState: '54', code: ERROR_CODES.databaseRejected, retry: 'never', meaning: 'program limit exceeded' },
  {
    sqlState: '23',
    code: ERROR_CODES.databaseRejected,
    retry: 'never',
    meaning: 'integrity constraint violation',
  },
  { sqlState: 'XX', code: ERROR_CODES.databaseRejected, retry: 'never', meaning: 'internal error' },
];

/** Node and postgres.js error codes of a connection that could not be made or was lost: unavailability. */
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

const SQLSTATE_SHAPE = /^[0-9A-Z]{5}$/;

function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The rule for a SQLSTATE: an exact entry before its class. */
export function sqlStateRule(state: string): SqlStateRule | undefined {
  return (
    SQLSTATE_RULES.find((rule) => rule.sqlState === state) ??
    SQLSTATE_RULES.find((rule) => rule.sqlState.length === 2 && state.startsWith(rule.sqlState))
  );
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

const PREFIX: Record<ErrorCode, string> = {
  [ERROR_CODES.databaseUnavailable]: 'database unavailable',
  [ERROR_CODES.databaseConflict]: 'transaction conflict',
  [ERROR_CODES.invalidInputData]: 'input rejected by the database',
  [ERROR_CODES.databaseRejected]: 'refused by the database',
  [ERROR_CODES.migrationModified]: 'migration modified',
  [ERROR_CODES.migrationsMissing]: 'migrations missing',
  [ERROR_CODES.internal]: 'unexpected failure',
};

/** The one place that turns anything thrown into an ElsError. */
export function coerceError(error: unknown): ElsError {
  if (error instanceof ElsError) return error;
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code && CONNECTION_ERRNO.has(code)) {
    return new ElsError(
      ERROR_CODES.databaseUnavailable,
      `${PREFIX[ERROR_CODES.databaseUnavailable]}: ${message}`,
      true,
      {
        cause: error,
      },
    );
  }
  const rule = code && SQLSTATE_SHAPE.test(code) ? sqlStateRule(code) : undefined;
  if (rule) {
    return new ElsError(
      rule.code,
      `${PREFIX[rule.code]} (${code} ${rule.meaning}): ${message}`,
      rule.retry !== 'never',
      {
        cause: error,
        retry: rule.retry,
      },
    );
  }
  // Neither unavailability nor a known refusal: maybe a passing glitch, maybe a message that breaks an
  // assumption of the code. Retried a few times (dead-lettering valid input on the first glitch would lose
  // it), then dead-lettered with its bytes so one message cannot stop its partition for good.
  return new ElsError(ERROR_CODES.internal, message, true, { cause: error, retry: 'bounded' });
}
