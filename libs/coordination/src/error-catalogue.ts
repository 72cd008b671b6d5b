import { CONTRACT_ERROR_CODES, type ContractErrorCode } from '@els/contracts';

/**
 * Every error code the worker can emit: in a dead letter's `x-els-error-code`, an HTTP error body, a retry's
 * `reason`, a log line or the exit of a command. The contract's codes are declared by libs/contracts (which
 * must not import this library: CONTRIBUTING.md §1) and listed here by reference; every other code is
 * written only here. tools/lint's error-code test fails on an `ELS_ERR_` string the catalogue does not
 * define, and on a catalogued code nothing emits.
 */
export const ERROR_CODES = {
  contractTooLarge: CONTRACT_ERROR_CODES.tooLarge,
  contractNotJson: CONTRACT_ERROR_CODES.notJson,
  contractInvalidEnvelope: CONTRACT_ERROR_CODES.invalidEnvelope,
  contractUnknownEventType: CONTRACT_ERROR_CODES.unknownEventType,
  contractInvalidData: CONTRACT_ERROR_CODES.invalidData,
  unexpectedEvent: 'ELS_ERR_UNEXPECTED_EVENT',
  batchTooLarge: 'ELS_ERR_BATCH_TOO_LARGE',
  essayIdConflict: 'ELS_ERR_ESSAY_ID_CONFLICT',
  invalidInputData: 'ELS_ERR_INVALID_INPUT_DATA',
  databaseRejected: 'ELS_ERR_DATABASE_REJECTED',
  databaseReadOnly: 'ELS_ERR_DATABASE_READ_ONLY',
  deadLetterRefused: 'ELS_ERR_DEAD_LETTER_REFUSED',
  databaseUnavailable: 'ELS_ERR_DATABASE_UNAVAILABLE',
  databaseConflict: 'ELS_ERR_DATABASE_CONFLICT',
  brokerUnavailable: 'ELS_ERR_BROKER_UNAVAILABLE',
  schemaNotReady: 'ELS_ERR_SCHEMA_NOT_READY',
  migrationsMissing: 'ELS_ERR_MIGRATIONS_MISSING',
  migrationModified: 'ELS_ERR_MIGRATION_MODIFIED',
  internal: 'ELS_ERR_INTERNAL',
  configInvalid: 'ELS_ERR_CONFIG_INVALID',
  notFound: 'ELS_ERR_NOT_FOUND',
  badRequest: 'ELS_ERR_BAD_REQUEST',
} as const;

/** A code of the catalogue; a contract code is one even before it is listed (the catalogue then fails to compile). */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES] | ContractErrorCode;

/**
 * How often a failure may be retried:
 * - `unbounded`: unavailability (database, broker, Redis down or read-only, a lock or statement timeout).
 *   It goes away by itself, so it is retried for as long as the worker runs and never dead-letters input.
 * - `bounded`: unexpected (a JS error the handlers did not anticipate, an unknown SQLSTATE). It may be an
 *   outage nobody listed or a poison message: retried a bounded number of times (`ELS_RETRY_UNEXPECTED_MAX`),
 *   and dead-lettered only when the database then proves it is writable and the failure reproduces
 *   (invariant 6).
 * - `never`: the message itself is refused for a permanent reason; dead-lettered (a database's refusal once
 *   the database has proved it is writable, so a refusal that is really an outage is retried instead).
 */
export type RetryPolicy = 'unbounded' | 'bounded' | 'never';

/**
 * A failure as the retry loop sees it, from the classifier that named it to the dead letter or the retry
 * it ends in. Retry decisions read `retriable` and `retry`, never the message. An `ElsError` has this shape
 * but for `cause`, which here is always the error that was thrown.
 */
export interface ClassifiedFailure {
  readonly code: ErrorCode;
  /** False exactly when the policy is `never`. */
  readonly retriable: boolean;
  /** Defaults to `unbounded` when retriable, `never` otherwise (`retryPolicyOf`). */
  readonly retry?: RetryPolicy;
  readonly message: string;
  readonly cause: unknown;
}

/** The policy of a failure; `retriable` wins over a contradicting `retry`. */
export function retryPolicyOf(failure: Pick<ClassifiedFailure, 'retriable' | 'retry'>): RetryPolicy {
  if (!failure.retriable) return 'never';
  return failure.retry === 'bounded' ? 'bounded' : 'unbounded';
}

/** What a code means and what the operator does about it: one row of docs/reference/errors.md. */
export interface ErrorCatalogueEntry {
  /** How a failure with this code is retried when nothing more specific is known (`failureOf`). */
  readonly retry: RetryPolicy;
  readonly meaning: string;
  /** What the operator does about it. */
  readonly action: string;
}

const RESUMES = 'the worker resumes by itself';

/**
 * The catalogue, in the order docs/reference/errors.md lists it (errors-doc.test.ts holds the page equal to
 * it). Its type requires an entry for every code of ERROR_CODES and of the contract, and no other.
 */
export const ERROR_CATALOGUE: { readonly [C in ErrorCode]: ErrorCatalogueEntry } = {
  [ERROR_CODES.contractTooLarge]: {
    retry: 'never',
    meaning: 'The message value is larger than `ELS_MAX_MESSAGE_BYTES`. Dead-lettered.',
    action: 'Fix the producer, or raise the limit if such messages are legitimate.',
  },
  [ERROR_CODES.contractNotJson]: {
    retry: 'never',
    meaning: 'The value is empty, not UTF-8 or not JSON. Dead-lettered.',
    action: "Fix the producer's serialisation; the dead letter holds the bytes.",
  },
  [ERROR_CODES.contractInvalidEnvelope]: {
    retry: 'never',
    meaning:
      'The JSON lacks envelope fields (`event_id`, `event_type`, `correlation_id`, …) or has wrong types. Dead-lettered.',
    action: 'Compare with docs/reference/contracts; `x-els-error-message` names the path.',
  },
  [ERROR_CODES.contractUnknownEventType]: {
    retry: 'never',
    meaning: '`event_type` names no known event. Dead-lettered.',
    action: "Check the producer's topic / event type constants.",
  },
  [ERROR_CODES.contractInvalidData]: {
    retry: 'never',
    meaning:
      'The payload breaks its schema: missing field, wrong type, empty or duplicate `essay_ids`, count mismatch, ' +
      'an integer out of range (`expected_essay_count` and `essay_ids` at most 100,000), or a string PostgreSQL ' +
      'could not store as it is: an id (batch, essay, user, class, file upload, raw file, text) longer than 512 ' +
      'bytes of UTF-8, with a NUL or another control character (U+0000-U+001F, U+007F) or an unpaired surrogate ' +
      '(a JSON `\\ud800` escape), or an `original_file_name` with a NUL, an unpaired surrogate or more than 4096 ' +
      'bytes. Dead-lettered.',
    action:
      'Fix the producer; the header names the first offending path and the rule (see [contracts](contracts/README.md)).',
  },
  [ERROR_CODES.unexpectedEvent]: {
    retry: 'never',
    meaning:
      'A valid event of a type the worker produces (not consumes) arrived on an input topic. Dead-lettered.',
    action: 'Check producer routing.',
  },
  [ERROR_CODES.batchTooLarge]: {
    retry: 'never',
    meaning:
      'A registration whose completion event could exceed 16 MiB (`COMPLETION_EVENT_MAX_BYTES`), counting every ' +
      'essay id as sent and a worst-case text id of 512 bytes per slot: with 36-character UUID essay ids, at ' +
      'most 15,236 essays fit. Nothing is written; dead-lettered.',
    action: 'Split the batch; the dead letter holds the registration.',
  },
  [ERROR_CODES.essayIdConflict]: {
    retry: 'never',
    meaning:
      'A registration names essay ids already registered under another batch. Nothing is written; dead-lettered.',
    action: 'Investigate the batch orchestrator: essay ids must be globally unique.',
  },
  [ERROR_CODES.invalidInputData]: {
    retry: 'never',
    meaning:
      'PostgreSQL rejected a value of the message as data (SQLSTATE class 22). Rare: the contract already ' +
      'refuses the ids and texts PostgreSQL cannot store (NUL, unpaired surrogates, over-long ids, ' +
      'out-of-range integers). Dead-lettered once the write probe found the database writable and the ' +
      'failure happened again.',
    action:
      'Fix the producer; the dead letter holds the message. Report it too: the contract should have refused it.',
  },
  [ERROR_CODES.databaseRejected]: {
    retry: 'never',
    meaning:
      'PostgreSQL refused the message for a permanent reason other than its data: a program limit (SQLSTATE ' +
      'class 54, e.g. an index row too large), an integrity violation the handlers did not expect (class 23, ' +
      '40002) or an internal error (class XX). Dead-lettered once the write probe found the database writable ' +
      'and the failure happened again.',
    action:
      "Report it with the dead letter's `x-els-error-message` (it names the SQLSTATE); replay after the fix.",
  },
  [ERROR_CODES.databaseReadOnly]: {
    retry: 'unbounded',
    meaning:
      'PostgreSQL refuses writes (SQLSTATE 25006): a standby, a failover in progress, a server set read-only ' +
      '(e.g. when its disk filled). Also what the write probe reports when it finds that. `/readyz` answers ' +
      '503 with `database.readOnly: true`, `els_database_state{state="read_only"}` is 1.',
    action: `Point the worker at the primary or end the read-only mode; ${RESUMES} and nothing is dead-lettered meanwhile.`,
  },
  [ERROR_CODES.deadLetterRefused]: {
    retry: 'unbounded',
    meaning:
      'The dead-letter topic refuses a letter and also its reference letter (headers without the value) for ' +
      'good: larger than its `max.message.bytes` even without the value, or not allowed. The partition stops ' +
      'at the message; `/readyz` names it under `retrying` and turns 503 after `ELS_READY_MAX_RETRY_MS`; ' +
      '`els_dead_letters_refused_total{outcome="stopped"}` counts it. A letter refused only with its value is ' +
      'written as a reference letter instead (`outcome="reference"`): headers `x-els-value-sha256`, ' +
      '`x-els-value-bytes`, `x-els-dead-letter-refusal`, a null value; the original stays at its source offset ' +
      "for the input topic's retention.",
    action:
      "Raise the dead-letter topic's `max.message.bytes` (or grant the producer's ACL); the partition moves on " +
      "by itself. For a reference letter, copy the original from the source offset before the input topic's " +
      'retention removes it.',
  },
  [ERROR_CODES.databaseUnavailable]: {
    retry: 'unbounded',
    meaning: 'PostgreSQL is unreachable, shutting down or out of resources.',
    action: `Restore the database; ${RESUMES}. \`els_retries_total\` counts the waits.`,
  },
  [ERROR_CODES.databaseConflict]: {
    retry: 'unbounded',
    meaning: 'Deadlock or serialisation failure that outlasted the in-transaction retries.',
    action:
      'None; persistent growth of `els_retries_total{reason="ELS_ERR_DATABASE_CONFLICT"}` deserves a look.',
  },
  [ERROR_CODES.brokerUnavailable]: {
    retry: 'unbounded',
    meaning:
      'Publishing a dead letter to Kafka failed while the broker is away, or at start the broker refused ' +
      'metadata or producer ids (a start refused for another reason is not retried: the process exits 1).',
    action: `Restore the broker; ${RESUMES}.`,
  },
  [ERROR_CODES.schemaNotReady]: {
    retry: 'unbounded',
    meaning: 'At start, the database schema is not current. The worker waits (logged) before consuming.',
    action: 'Run `node dist/apps/els-worker/main.js migrate`.',
  },
  [ERROR_CODES.migrationsMissing]: {
    retry: 'never',
    meaning: 'The migrations folder is not next to the code (`drizzle/`).',
    action: 'Rebuild; the build copies `libs/coordination/drizzle` to `dist/apps/els-worker/drizzle`.',
  },
  [ERROR_CODES.migrationModified]: {
    retry: 'never',
    meaning: 'An applied migration file changed. `migrate` fails.',
    action: 'Migrations are immutable: restore the file and add a new migration instead.',
  },
  [ERROR_CODES.internal]: {
    retry: 'bounded',
    meaning:
      'An unexpected failure: a JS error the handlers did not anticipate, or a SQLSTATE outside the table ' +
      'below. Retried `ELS_RETRY_UNEXPECTED_MAX` times (a passing glitch must not lose a valid message), then ' +
      'dead-lettered with the original bytes (`x-els-error-message` ends with the number of attempts). ' +
      'HTTP: `500`.',
    action:
      'Read the `Retrying after a retriable failure` log lines of its correlation id; fix the cause and replay the dead letter.',
  },
  [ERROR_CODES.configInvalid]: {
    retry: 'never',
    meaning:
      'One or more `ELS_*` variables are missing, malformed or unknown. The process exits with code 2 and lists every bad key.',
    action: 'Fix the listed keys (configuration.md).',
  },
  [ERROR_CODES.notFound]: {
    retry: 'never',
    meaning: 'HTTP: unknown batch, essay or route (`404`).',
    action: 'Check the id; a batch exists only after its registration was consumed.',
  },
  [ERROR_CODES.badRequest]: {
    retry: 'never',
    meaning:
      'HTTP: a path id the contract would refuse (`400`): empty, longer than 512 bytes of UTF-8, with a control ' +
      'character, or not valid percent-encoded UTF-8.',
    action: 'Send the id as the events carry it, percent-encoded (spaces and non-ASCII are fine).',
  },
};

/**
 * A failure with the catalogue's policy for `code`, its message taken from what was thrown. For the
 * classifiers that know a failure's code from where it happened (a dead-letter publish, the schema wait)
 * rather than from the error.
 */
export function failureOf(code: ErrorCode, error: unknown): ClassifiedFailure {
  const retry = ERROR_CATALOGUE[code].retry;
  return {
    code,
    retriable: retry !== 'never',
    retry,
    message: error instanceof Error ? error.message : String(error),
    cause: error,
  };
}
