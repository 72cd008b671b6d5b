import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL schema, the only arbiter of slot state. drizzle-kit generates the numbered migrations in
 * ../drizzle from this file; see README.md for which statement protects which invariant.
 */

/** One row per registered batch. `completed_at` is the completion latch (invariant 4). */
export const batches = pgTable(
  'batches',
  {
    batchId: text('batch_id').primaryKey(),
    expectedCount: integer('expected_count').notNull(),
    courseCode: text('course_code').notNull(),
    userId: text('user_id').notNull(),
    classId: text('class_id'),
    correlationId: uuid('correlation_id').notNull(),
    registrationEventId: uuid('registration_event_id').notNull(),
    /** The registration's W3C trace context, which its completion carries (null: none or invalid). */
    traceparent: text('traceparent'),
    tracestate: text('tracestate'),
    /**
     * No longer written (since 0006): workers of 0005 and before counted resolved slots here under the row
     * lock. Kept so that such workers run beside newer ones during a rolling upgrade.
     */
    resolvedCount: integer('resolved_count').notNull().default(0),
    /**
     * The completion latch: set once, by the first transaction that finds every slot of the batch resolved
     * and committed (`completeFullBatches`), in the transaction that writes the completion event.
     */
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    check('batches_resolved_within_expected', sql`${t.resolvedCount} between 0 and ${t.expectedCount}`),
    // The completion sweep reads only the batches not yet announced.
    index('batches_incomplete')
      .on(t.batchId)
      .where(sql`${t.completedAt} is null`),
  ],
);

/** The slot inventory: `uploaded` = free, `ready_for_processing` = holds a text, `validation_failed` = failed. */
export const essayStates = pgTable(
  'essay_states',
  {
    essayId: text('essay_id').primaryKey(),
    batchId: text('batch_id')
      .notNull()
      .references(() => batches.batchId),
    slotIndex: integer('slot_index').notNull(),
    status: text('status', { enum: ['uploaded', 'ready_for_processing', 'validation_failed'] })
      .notNull()
      .default('uploaded'),
    textStorageId: text('text_storage_id'),
    fileUploadId: text('file_upload_id'),
    originalFileName: text('original_file_name'),
    contentCorrelationId: uuid('content_correlation_id'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // Invariant 1: the real guard against one text taking two slots of its batch.
    uniqueIndex('essay_states_batch_text_unique')
      .on(t.batchId, t.textStorageId)
      .where(sql`${t.textStorageId} is not null`),
    // The claim statement scans only free slots of one batch, in slot order.
    index('essay_states_free_slots')
      .on(t.batchId, t.slotIndex)
      .where(sql`${t.status} = 'uploaded'`),
    index('essay_states_batch').on(t.batchId),
    check(
      'essay_states_text_iff_assigned',
      sql`(${t.status} = 'ready_for_processing') = (${t.textStorageId} is not null)`,
    ),
  ],
);

/** Content that arrived before its batch was registered (invariant 7). */
export const pendingContent = pgTable(
  'pending_content',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: text('batch_id').notNull(),
    textStorageId: text('text_storage_id').notNull(),
    fileUploadId: text('file_upload_id').notNull(),
    originalFileName: text('original_file_name').notNull(),
    correlationId: uuid('correlation_id').notNull(),
    /** The content event's W3C trace context, which its slot-assigned or excess event carries. */
    traceparent: text('traceparent'),
    tracestate: text('tracestate'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('pending_content_batch_text_unique').on(t.batchId, t.textStorageId)],
);

/** Texts that found no slot; one report per (batch, text) (invariant 3). */
export const excessReports = pgTable(
  'excess_reports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: text('batch_id').notNull(),
    textStorageId: text('text_storage_id').notNull(),
    originalFileName: text('original_file_name').notNull(),
    correlationId: uuid('correlation_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('excess_reports_batch_text_unique').on(t.batchId, t.textStorageId)],
);

/**
 * Validation failures, once per (batch, file_upload_id). `outcome` is `pending` before registration,
 * `slot_failed` when it resolved slot `essay_id`, `no_free_slot` when every slot was already resolved.
 */
export const validationFailures = pgTable(
  'validation_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    batchId: text('batch_id').notNull(),
    fileUploadId: text('file_upload_id').notNull(),
    originalFileName: text('original_file_name').notNull(),
    validationErrorCode: text('validation_error_code').notNull(),
    correlationId: uuid('correlation_id').notNull(),
    outcome: text('outcome', { enum: ['pending', 'slot_failed', 'no_free_slot'] }).notNull(),
    essayId: text('essay_id'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('validation_failures_batch_upload_unique').on(t.batchId, t.fileUploadId),
    index('validation_failures_pending')
      .on(t.batchId)
      .where(sql`${t.outcome} = 'pending'`),
  ],
);

/** Transactional outbox (invariant 5): written in the transaction of the state change, published by the relay. */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Deterministic (UUIDv5) id of the logical event: a second write of the same event is a no-op. */
    eventId: uuid('event_id').notNull(),
    topic: text('topic').notNull(),
    key: text('key').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /**
     * The `application_name` of the session that wrote the row (`els-worker-<instance id>`): which replica
     * made the state change the event announces. Published as the `x-els-origin` header. Null on rows
     * written before migration 0003.
     */
    origin: text('origin').default(sql`current_setting('application_name', true)`),
  },
  (t) => [
    uniqueIndex('outbox_event_id_unique').on(t.eventId),
    index('outbox_unpublished')
      .on(t.nextAttemptAt, t.id)
      .where(sql`${t.publishedAt} is null`),
    // The sweeper's range scan over published rows older than the retention (invariant 12).
    index('outbox_published_at')
      .on(t.publishedAt)
      .where(sql`${t.publishedAt} is not null`),
  ],
);

/**
 * The identity of this database (invariant 9): one row, created by migration 0002. The Redis pre-filter
 * keys are scoped by it, so a recreated database never inherits the "seen" marks of its predecessor.
 */
export const elsDeployment = pgTable(
  'els_deployment',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    deploymentId: uuid('deployment_id').notNull().defaultRandom(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [check('els_deployment_singleton', sql`${t.singleton}`)],
);
