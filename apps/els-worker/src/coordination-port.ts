import type { BatchEssaysRegistered, EssayContentProvisioned, EssayValidationFailed } from '@els/contracts';
import {
  batchStatus,
  coerceError,
  deploymentId,
  essayStatus,
  handleContent,
  handleContentBatch,
  handleRegistration,
  handleValidationFailure,
  probeDatabaseWritable,
  schemaStatus,
  type BatchStatus,
  type ClassifiedFailure,
  type ContentOutcome,
  type EssayStatus,
  type HandlerContext,
  type RegistrationOutcome,
  type SchemaStatus,
  type Sql,
  type ValidationFailureOutcome,
  type WriteProbeResult,
} from '@els/coordination';

export type {
  BatchStatus,
  ContentOutcome,
  EssayStatus,
  RegistrationOutcome,
  SchemaStatus,
  Sql,
  ValidationFailureOutcome,
};

/** The database handlers the consumer calls; each commits its own transaction before it resolves. */
export interface EventHandlers {
  handleRegistration(envelope: BatchEssaysRegistered): Promise<RegistrationOutcome>;
  handleContent(envelope: EssayContentProvisioned): Promise<ContentOutcome>;
  handleContentBatch(envelopes: EssayContentProvisioned[]): Promise<ContentOutcome[]>;
  handleValidationFailure(envelope: EssayValidationFailed): Promise<ValidationFailureOutcome>;
}

/** Read-only queries of the HTTP API. */
export interface StatusQueries {
  batchStatus(batchId: string): Promise<BatchStatus | undefined>;
  essayStatus(essayId: string): Promise<EssayStatus | undefined>;
}

/** What readiness asks the database. */
export interface DatabaseProbe {
  /** Answers whether this session's transactions are read-only (a standby, a database set read-only). */
  ping(): Promise<{ readOnly: boolean }>;
  schemaStatus(): Promise<SchemaStatus>;
}

/** Everything the worker needs from libs/coordination, bound to one pool; the only place that imports it. */
export interface CoordinationPort extends EventHandlers, StatusQueries, DatabaseProbe {
  /** The classification table's verdict on what a handler or query threw (libs/coordination `coerceError`). */
  classifyError(error: unknown): ClassifiedFailure;
  /** One write in a transaction of its own (libs/coordination `probeDatabaseWritable`); never throws. */
  probeWritable(): Promise<WriteProbeResult>;
  /** The identity of this database, scoping the Redis pre-filter (invariant 9). Needs a current schema. */
  deploymentId(): Promise<string>;
}

export function createCoordinationPort(sql: Sql, context: HandlerContext): CoordinationPort {
  return {
    handleRegistration: (envelope) => handleRegistration(sql, envelope, context),
    handleContent: (envelope) => handleContent(sql, envelope, context),
    handleContentBatch: (envelopes) => handleContentBatch(sql, envelopes, context),
    handleValidationFailure: (envelope) => handleValidationFailure(sql, envelope, context),
    batchStatus: (batchId) => batchStatus(sql, batchId),
    essayStatus: (essayId) => essayStatus(sql, essayId),
    async ping() {
      try {
        const [row] = await sql<Array<{ read_only: boolean }>>`
          select current_setting('transaction_read_only') = 'on' as read_only`;
        return { readOnly: row?.read_only === true };
      } catch (error) {
        throw coerceError(error);
      }
    },
    probeWritable: () => probeDatabaseWritable(sql),
    schemaStatus: () => schemaStatus(sql),
    deploymentId: () => deploymentId(sql),
    classifyError(error) {
      const coerced = coerceError(error);
      return {
        code: coerced.code,
        retriable: coerced.retriable,
        retry: coerced.retry,
        message: coerced.message,
        cause: error,
      };
    },
  };
}
