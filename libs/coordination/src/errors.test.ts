import { ERROR_CODES, type RetryPolicy } from './error-catalogue';
import { coerceError, ElsError, FAILURE_RULES } from './errors';

/** What a driver error with this `code` (SQLSTATE or errno) is classified as. */
function classified(code: string, routine?: string) {
  const error = coerceError(Object.assign(new Error(`failure ${code}`), { code, routine }));
  return { code: error.code, retriable: error.retriable, retry: error.retry };
}

const unavailable = { code: ERROR_CODES.databaseUnavailable, retriable: true, retry: 'unbounded' };
const readOnly = { code: ERROR_CODES.databaseReadOnly, retriable: true, retry: 'unbounded' };
const conflict = { code: ERROR_CODES.databaseConflict, retriable: true, retry: 'unbounded' };
const badInput = { code: ERROR_CODES.invalidInputData, retriable: false, retry: 'never' };
const rejected = { code: ERROR_CODES.databaseRejected, retriable: false, retry: 'never' };
const unexpected = { code: ERROR_CODES.internal, retriable: true, retry: 'bounded' };

describe('error classification', () => {
  it.each([
    ['08006', 'connection failure', unavailable],
    ['08001', 'unable to connect', unavailable],
    ['53100', 'disk full', unavailable],
    ['53300', 'too many connections', unavailable],
    ['57014', 'query canceled by statement_timeout', unavailable],
    ['57P01', 'admin shutdown', unavailable],
    ['57P02', 'crash shutdown', unavailable],
    ['57P03', 'cannot connect now', unavailable],
    ['58030', 'I/O error', unavailable],
    ['40001', 'serialization failure', conflict],
    ['40P01', 'deadlock', conflict],
    ['55P03', 'lock_timeout', unavailable],
    ['25P03', 'idle_in_transaction_session_timeout', unavailable],
    ['25006', 'read-only SQL transaction (standby, failover)', readOnly],
    ['25P02', 'in failed SQL transaction', unavailable],
    ['25001', 'active SQL transaction (the session, not the message)', unavailable],
    ['57P04', 'database dropped', unavailable],
    ['22021', 'invalid byte sequence', badInput],
    ['22003', 'numeric value out of range', badInput],
    ['54000', 'index row size exceeds btree maximum', rejected],
    ['23505', 'unique violation the handlers did not expect', rejected],
    ['23503', 'foreign key violation', rejected],
    ['40002', 'integrity violation found at commit', rejected],
    ['XX000', 'internal error', rejected],
    ['XX001', 'data corrupted', rejected],
    ['P0001', 'raise_exception (an unknown class)', unexpected],
    ['42P01', 'undefined table (an unknown class)', unexpected],
    ['55000', 'object not in prerequisite state (class 55 other than 55P03)', unexpected],
  ])('classifies SQLSTATE %s (%s) by the table', (state, _what, expected) => {
    expect(classified(state)).toEqual(expected);
  });

  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ECONNABORTED',
    'EHOSTUNREACH',
    'EHOSTDOWN',
    'ENETUNREACH',
    'ENETDOWN',
    'EPIPE',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'CONNECTION_CLOSED',
    'CONNECTION_ENDED',
    'CONNECTION_DESTROYED',
    'CONNECT_TIMEOUT',
  ])('treats the connection errno %s as unavailability, retried without limit', (errno) => {
    expect(classified(errno)).toEqual(unavailable);
  });

  it('treats a plain Error, a driver code it does not know and a thrown non-error as unexpected', () => {
    for (const thrown of [
      new TypeError("Cannot read properties of undefined (reading 'essayId')"),
      Object.assign(new Error('undefined parameter'), { code: 'UNDEFINED_VALUE' }),
      'a string',
    ]) {
      const error = coerceError(thrown);
      expect({ code: error.code, retriable: error.retriable, retry: error.retry }).toEqual(unexpected);
      expect(error.cause).toBe(thrown);
    }
  });

  it('keeps the cause and names the SQLSTATE in the message', () => {
    const cause = Object.assign(new Error('index row size 3080 exceeds btree version 4 maximum 2704'), {
      code: '54000',
    });
    const error = coerceError(cause);
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('54000');
    expect(error.message).toContain('index row size');
  });

  it('returns an ElsError unchanged', () => {
    const original = new ElsError(ERROR_CODES.brokerUnavailable, 'x', true, { retry: 'bounded' });
    expect(coerceError(original)).toBe(original);
  });

  it('derives the policy from retriable and never contradicts it', () => {
    const policy = (retriable: boolean, retry?: RetryPolicy) =>
      new ElsError(ERROR_CODES.internal, 'm', retriable, { retry }).retry;
    expect(policy(true)).toBe('unbounded');
    expect(policy(false)).toBe('never');
    expect(policy(true, 'bounded')).toBe('bounded');
    expect(policy(false, 'bounded')).toBe('never');
    expect(policy(true, 'never')).toBe('unbounded');
  });

  it('splits 54000 by the routine that raised it: a full NOTIFY queue is an outage, an index row too large is not', () => {
    expect(classified('54000', 'PreCommit_Notify')).toEqual(unavailable);
    expect(classified('54000', '_bt_check_third_page')).toEqual(rejected);
    expect(classified('54000')).toEqual(rejected);
    expect(classified('54001', 'PreCommit_Notify')).toEqual(rejected);
  });

  it('lists each match once, with a non-retriable flag exactly for the permanent ones', () => {
    const keys = FAILURE_RULES.map((rule) => JSON.stringify(rule.match));
    expect(new Set(keys).size).toBe(keys.length);
    const errnos = FAILURE_RULES.flatMap((rule) => ('errnos' in rule.match ? rule.match.errnos : []));
    expect(new Set(errnos).size).toBe(errnos.length);
    for (const rule of FAILURE_RULES) {
      expect(rule.retry === 'never').toBe(
        rule.code === ERROR_CODES.invalidInputData || rule.code === ERROR_CODES.databaseRejected,
      );
    }
  });
});
