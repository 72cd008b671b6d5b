import { ERROR_CODES, retryPolicyOf, type ErrorCode, type RetryPolicy } from './error-catalogue';

/**
 * A failure with a stable code. Retry decisions read `retriable` (may it be retried at all) and `retry`
 * (how often), never the message. `retry` defaults to `unbounded` when retriable, `never` otherwise.
 */
export class ElsError extends Error {
  override readonly name = 'ElsError';
  readonly retry: RetryPolicy;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retriable: boolean,
    options: { cause?: unknown; retry?: RetryPolicy } = {},
  ) {
    super(message, { cause: options.cause });
    this.retry = retryPolicyOf({ retriable, retry: options.retry });
  }
}

/** What a rule recognises: a SQLSTATE (class or full code, optionally narrowed by the raising routine), or errnos. */
export type FailureMatch =
  | {
      /** A two-character SQLSTATE class or a full five-character SQLSTATE; the longest match wins. */
      readonly sqlState: string;
      /**
       * Only when the server function that raised it is one of these (PostgreSQL's `routine` field): one
       * SQLSTATE can mean an outage or a refusal depending on where it was raised (54000).
       */
      readonly routines?: readonly string[];
    }
  | {
      /** Node's and postgres.js's codes of a connection that could not be made or was lost. */
      readonly errnos: readonly string[];
    };

/** The codes the classification table gives a database failure. */
export type FailureRuleCode = (typeof ERROR_CODES)[
  | 'databaseUnavailable'
  | 'databaseReadOnly'
  | 'databaseConflict'
  | 'invalidInputData'
  | 'databaseRejected'
  | 'internal'];

/** One row of the classification table: what is recognised, how it is handled, what it means, what to do. */
export interface FailureRule {
  readonly match: FailureMatch;
  readonly code: FailureRuleCode;
  readonly retry: RetryPolicy;
  readonly meaning: string;
  /** What the operator does about it (docs/reference/errors.md shows it). */
  readonly action: string;
}

const RESTORE = 'Restore the database; the worker resumes by itself.';

/**
 * How every database failure is classified: the one table (docs/reference/errors.md shows it and a test
 * holds the two equal). An exact SQLSTATE with a matching routine wins over the exact SQLSTATE, which wins
 * over its class. Outages are listed so that they are retried at once without limit; a failure that is
 * not an outage by this table is still dead-lettered only after the database proved it is writable and
 * the failure reproduced (apps/els-worker retry loop), so an outage missing from this table costs retries,
 * never a message.
 */
export const FAILURE_RULES: readonly FailureRule[] = [
  {
    match: {
      errnos: [
        'ECONNREFUSED',
        'ECONNRESET',
        'ECONNABORTED',
        'EPIPE',
        'ETIMEDOUT',
        'EHOSTUNREACH',
        'EHOSTDOWN',
        'ENETUNREACH',
        'ENETDOWN',
        'ENETRESET',
        'ENOTCONN',
        'EADDRNOTAVAIL',
        'ENOTFOUND',
        'EAI_AGAIN',
        'CONNECTION_CLOSED',
        'CONNECTION_ENDED',
        'CONNECTION_DESTROYED',
        'CONNECT_TIMEOUT',
      ],
    },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning:
      'the connection could not be made or was lost (refused, reset, unreachable host or network, DNS)',
    action: `${RESTORE} Check the route and DNS between the replica and PostgreSQL.`,
  },
  {
    match: { sqlState: '08' },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'connection exception',
    action: RESTORE,
  },
  {
    match: { sqlState: '25006' },
    code: ERROR_CODES.databaseReadOnly,
    retry: 'unbounded',
    meaning: 'read-only transaction: a standby, a failover in progress, or default_transaction_read_only',
    action:
      'Point the worker at the primary (or end the read-only mode, e.g. a full disk); it resumes by itself.',
  },
  {
    match: { sqlState: '25' },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning:
      'invalid transaction state (25P02 in a failed transaction, 25P03 idle-in-transaction timeout): the session, not the message',
    action: 'None; persistent retries deserve a look at the sessions (`pg_stat_activity`).',
  },
  {
    match: { sqlState: '40002' },
    code: ERROR_CODES.databaseRejected,
    retry: 'never',
    meaning: 'transaction integrity constraint violation found at commit',
    action: 'Report it with the dead letter; replay after the fix.',
  },
  {
    match: { sqlState: '40' },
    code: ERROR_CODES.databaseConflict,
    retry: 'unbounded',
    meaning: 'transaction rollback (40001 serialization failure, 40P01 deadlock)',
    action:
      'None; persistent growth of `els_retries_total{reason="ELS_ERR_DATABASE_CONFLICT"}` deserves a look.',
  },
  {
    match: { sqlState: '53' },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'insufficient resources (disk full, out of memory, too many connections)',
    action: `${RESTORE} Free disk or memory, or raise max_connections.`,
  },
  {
    match: { sqlState: '54000', routines: ['PreCommit_Notify'] },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'the NOTIFY queue is full (a LISTEN session that stopped reading holds its tail)',
    action:
      'Find the session with `pg_notification_queue_usage()` and `pg_stat_activity` (LISTEN, idle in transaction) and end it.',
  },
  {
    match: { sqlState: '54' },
    code: ERROR_CODES.databaseRejected,
    retry: 'never',
    meaning: 'program limit exceeded (an index row too large)',
    action: 'Report it with the dead letter (it names the SQLSTATE); replay after the fix.',
  },
  {
    match: { sqlState: '55P03' },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'lock not available (lock_timeout: another session holds the rows)',
    action: 'None when it passes; a lasting one names a stuck session in `pg_locks`.',
  },
  {
    match: { sqlState: '57' },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning:
      'operator intervention (57014 statement_timeout, 57P01-57P03 shutting down or starting, 57P04 database dropped)',
    action: RESTORE,
  },
  {
    match: { sqlState: '58' },
    code: ERROR_CODES.databaseUnavailable,
    retry: 'unbounded',
    meaning: 'system error (I/O)',
    action: `${RESTORE} Check the server's storage.`,
  },
  {
    match: { sqlState: '22' },
    code: ERROR_CODES.invalidInputData,
    retry: 'never',
    meaning: 'data exception (a NUL byte, an out-of-range number)',
    action: 'Fix the producer; report it too: the contract should have refused it.',
  },
  {
    match: { sqlState: '23' },
    code: ERROR_CODES.databaseRejected,
    retry: 'never',
    meaning: 'integrity constraint violation the handlers did not expect',
    action: 'Report it with the dead letter; replay after the fix.',
  },
  {
    match: { sqlState: 'XX' },
    code: ERROR_CODES.databaseRejected,
    retry: 'never',
    meaning: 'internal error (corruption)',
    action: 'Check the server log and the storage; replay after the repair.',
  },
];

/** The row for anything the table does not recognise (a JS error, an unknown SQLSTATE). */
export const UNEXPECTED_FAILURE = {
  code: ERROR_CODES.internal,
  retry: 'bounded',
  meaning: 'anything else (a JS error, e.g. P0001 raise_exception or 42P01 undefined table)',
  action:
    'Read the `Retrying after a retriable failure` log lines of its correlation id; fix the cause and replay the dead letter.',
} as const satisfies Omit<FailureRule, 'match'>;

const SQLSTATE_SHAPE = /^[0-9A-Z]{5}$/;

function field(error: unknown, name: 'code' | 'routine'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

const sqlStateRules = FAILURE_RULES.filter(
  (rule): rule is FailureRule & { match: { sqlState: string; routines?: readonly string[] } } =>
    'sqlState' in rule.match,
);
const errnoRule = new Map<string, FailureRule>(
  FAILURE_RULES.flatMap((rule) =>
    'errnos' in rule.match ? rule.match.errnos.map((errno) => [errno, rule] as const) : [],
  ),
);

/** The rule for a SQLSTATE (and the routine that raised it): exact with routine, exact, then class. */
export function sqlStateRule(state: string, routine?: string): FailureRule | undefined {
  const exact = sqlStateRules.filter((rule) => rule.match.sqlState === state);
  return (
    exact.find((rule) => routine !== undefined && rule.match.routines?.includes(routine)) ??
    exact.find((rule) => rule.match.routines === undefined) ??
    sqlStateRules.find(
      (rule) =>
        rule.match.sqlState.length === 2 &&
        rule.match.routines === undefined &&
        state.startsWith(rule.match.sqlState),
    )
  );
}

/** The rule for a thrown error, or undefined when the table does not recognise it. */
export function failureRule(error: unknown): FailureRule | undefined {
  const code = field(error, 'code');
  if (code === undefined) return undefined;
  const byErrno = errnoRule.get(code);
  if (byErrno) return byErrno;
  return SQLSTATE_SHAPE.test(code) ? sqlStateRule(code, field(error, 'routine')) : undefined;
}

/** True for PostgreSQL's unique_violation (23505). */
export function isUniqueViolation(error: unknown): boolean {
  return field(error, 'code') === '23505';
}

/** True for deadlock / serialization failures, which a transaction retry resolves. */
export function isTransactionConflict(error: unknown): boolean {
  const code = field(error, 'code');
  return code === '40001' || code === '40P01';
}

const PREFIX: Record<FailureRuleCode, string> = {
  [ERROR_CODES.databaseUnavailable]: 'database unavailable',
  [ERROR_CODES.databaseReadOnly]: 'database read-only',
  [ERROR_CODES.databaseConflict]: 'transaction conflict',
  [ERROR_CODES.invalidInputData]: 'input rejected by the database',
  [ERROR_CODES.databaseRejected]: 'refused by the database',
  [ERROR_CODES.internal]: 'unexpected failure',
};

/** The one place that turns anything thrown into an ElsError. */
export function coerceError(error: unknown): ElsError {
  if (error instanceof ElsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const rule = failureRule(error);
  if (rule) {
    const code = field(error, 'code');
    const detail = 'sqlState' in rule.match ? ` (${code} ${rule.meaning})` : '';
    return new ElsError(rule.code, `${PREFIX[rule.code]}${detail}: ${message}`, rule.retry !== 'never', {
      cause: error,
      retry: rule.retry,
    });
  }
  // Neither a known outage nor a known refusal: maybe an outage nobody listed, maybe a message that breaks
  // an assumption of the code. Retried a few times, then dead-lettered only if the database proves it is
  // writable and the failure reproduces (the worker's retry loop), so one message cannot stop its
  // partition for good and an unlisted outage cannot cost a message.
  return new ElsError(UNEXPECTED_FAILURE.code, message, true, {
    cause: error,
    retry: UNEXPECTED_FAILURE.retry,
  });
}
