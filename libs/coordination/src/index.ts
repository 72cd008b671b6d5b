export { createDatabase, inTransaction } from './database';
export type { Sql, Tx, DatabaseOptions } from './database';
export { migrate, schemaStatus, defaultMigrationsDir } from './migrator';
export type { SchemaStatus } from './migrator';
export { ERROR_CATALOGUE, ERROR_CODES, failureOf, retryPolicyOf } from './error-catalogue';
export type { ClassifiedFailure, ErrorCatalogueEntry, ErrorCode, RetryPolicy } from './error-catalogue';
export {
  ElsError,
  FAILURE_RULES,
  UNEXPECTED_FAILURE,
  coerceError,
  failureRule,
  isUniqueViolation,
  isTransactionConflict,
} from './errors';
export type { FailureMatch, FailureRule, FailureRuleCode } from './errors';
export { silentLogger } from './handler-context';
export type { Logger, HandlerContext } from './handler-context';
export { handleRegistration } from './handlers/registration-handler';
export type { RegistrationOutcome } from './handlers/registration-handler';
export { handleContent, handleContentBatch } from './handlers/content-handler';
export type { ContentOutcome } from './handlers/content-handler';
export { handleValidationFailure } from './handlers/validation-failure-handler';
export type { ValidationFailureOutcome } from './handlers/validation-failure-handler';
export { createOutboxRelay } from './outbox-relay';
export type {
  OutboxRelay,
  OutboxRelayOptions,
  OutboxMessage,
  OutboxPublisher,
  PublishResult,
  RelayEvent,
} from './outbox-relay';
export { outboxBacklog } from './sql/outbox';
export type { OutboxBacklog } from './sql/outbox';
export { createOutboxSweeper } from './outbox-sweeper';
export type { OutboxSweeper, OutboxSweeperOptions, SweeperEvent } from './outbox-sweeper';
export { createCompletionSweeper } from './completion-sweeper';
export type { CompletionSweeper, CompletionSweeperOptions } from './completion-sweeper';
export { deploymentId, probeDatabaseWritable } from './sql/deployment';
export type { WriteProbeResult } from './sql/deployment';
export { batchStatus, essayStatus } from './status-queries';
export type { BatchStatus, EssayStatus } from './status-queries';
