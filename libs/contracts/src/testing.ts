import { randomUUID } from 'node:crypto';
import type { BatchEssaysRegistered, CourseCode } from './events/batch-essays-registered';
import type { EssayContentProvisioned } from './events/essay-content-provisioned';
import type { EssayValidationFailed } from './events/essay-validation-failed';
import { TOPICS } from './topics';

export {
  PRODUCER_SHAPES,
  producerShapeErrors,
  producerShapeOf,
  systemProcessingMetadataShape,
  errorDetailShape,
} from './producer-shapes';

/**
 * Factories for input events in the shape the Python services emit: every field of their models present
 * (null where the model's default is None), the registration's processing metadata, the validation
 * failure's structured error detail, and the envelope's trace context in `metadata` when one is given.
 * Used by tests and by the event generator; not part of the production entry.
 */

/** What a producer's OpenTelemetry propagator writes into `metadata` (either may be anything in a test). */
export interface SentTraceContext {
  traceparent?: unknown;
  tracestate?: unknown;
}

export interface RegistrationOptions {
  batchId?: string;
  essayIds?: string[];
  slots?: number;
  courseCode?: CourseCode;
  userId?: string;
  classId?: string | null;
  correlationId?: string;
  eventId?: string;
  at?: Date;
  traceContext?: SentTraceContext | null;
}

function envelopeFields(
  eventType: string,
  eventId: string | undefined,
  correlationId: string,
  at: Date,
  traceContext: SentTraceContext | null | undefined,
) {
  const metadata: Record<string, unknown> = {};
  if (traceContext?.traceparent !== undefined) metadata['traceparent'] = traceContext.traceparent;
  if (traceContext?.tracestate !== undefined) metadata['tracestate'] = traceContext.tracestate;
  return {
    event_id: eventId ?? randomUUID(),
    event_type: eventType,
    event_timestamp: at.toISOString(),
    // SERVICE_NAME of the Batch Orchestrator and of the File Service.
    source_service: eventType === TOPICS.batchEssaysRegistered ? 'batch-service' : 'file-service',
    schema_version: 1,
    correlation_id: correlationId,
    data_schema_uri: null,
    metadata,
  };
}

export function makeRegistration(options: RegistrationOptions = {}): BatchEssaysRegistered {
  const batchId = options.batchId ?? `batch-${randomUUID()}`;
  const essayIds =
    options.essayIds ?? Array.from({ length: options.slots ?? 3 }, (_, i) => `${batchId}-essay-${i + 1}`);
  const correlationId = options.correlationId ?? randomUUID();
  const at = options.at ?? new Date();
  return {
    ...envelopeFields(TOPICS.batchEssaysRegistered, options.eventId, correlationId, at, options.traceContext),
    data: {
      entity_id: batchId,
      expected_essay_count: essayIds.length,
      essay_ids: essayIds,
      course_code: options.courseCode ?? 'ENG5',
      user_id: options.userId ?? 'user-1',
      org_id: null,
      class_id: options.classId === undefined ? 'class-1' : options.classId,
      student_prompt_ref: null,
      // The Batch Orchestrator's SystemProcessingMetadata, dumped with every field.
      metadata: {
        entity_id: batchId,
        entity_type: 'batch',
        parent_id: null,
        timestamp: at.toISOString(),
        processing_stage: null,
        started_at: null,
        completed_at: null,
        event: 'batch.essays.registered',
        error_info: {},
      },
      event: 'batch.essays.registered',
    },
  };
}

export interface ContentOptions {
  batchId: string;
  textStorageId?: string;
  fileUploadId?: string;
  originalFileName?: string;
  correlationId?: string;
  eventId?: string;
  at?: Date;
  traceContext?: SentTraceContext | null;
}

export function makeContent(options: ContentOptions): EssayContentProvisioned {
  const textStorageId = options.textStorageId ?? `text-${randomUUID()}`;
  const correlationId = options.correlationId ?? randomUUID();
  const at = options.at ?? new Date();
  return {
    ...envelopeFields(
      TOPICS.essayContentProvisioned,
      options.eventId,
      correlationId,
      at,
      options.traceContext,
    ),
    data: {
      entity_id: options.batchId,
      file_upload_id: options.fileUploadId ?? `upload-${textStorageId}`,
      original_file_name: options.originalFileName ?? `${textStorageId}.docx`,
      raw_file_storage_id: `raw-${textStorageId}`,
      text_storage_id: textStorageId,
      file_size_bytes: 2048,
      content_md5_hash: null,
      correlation_id: correlationId,
      timestamp: at.toISOString(),
      event: 'essay.content.provisioned',
    },
  };
}

export interface ValidationFailureOptions {
  batchId: string;
  fileUploadId?: string;
  correlationId?: string;
  eventId?: string;
  at?: Date;
  traceContext?: SentTraceContext | null;
}

export function makeValidationFailure(options: ValidationFailureOptions): EssayValidationFailed {
  const fileUploadId = options.fileUploadId ?? `upload-${randomUUID()}`;
  const correlationId = options.correlationId ?? randomUUID();
  const at = options.at ?? new Date();
  const originalFileName = `${fileUploadId}.pdf`;
  const fileSizeBytes = 0;
  return {
    ...envelopeFields(TOPICS.essayValidationFailed, options.eventId, correlationId, at, options.traceContext),
    data: {
      entity_id: options.batchId,
      file_upload_id: fileUploadId,
      original_file_name: originalFileName,
      raw_file_storage_id: `raw-${fileUploadId}`,
      validation_error_code: 'EMPTY_CONTENT',
      // The File Service's ErrorDetail, dumped with every field.
      validation_error_detail: {
        error_code: 'EMPTY_CONTENT',
        message: `File content is empty: ${originalFileName}`,
        correlation_id: correlationId,
        timestamp: at.toISOString(),
        service: 'file_service',
        operation: 'validate_content',
        details: { batch_id: options.batchId, file_name: originalFileName, file_size_bytes: fileSizeBytes },
        stack_trace: null,
        trace_id: null,
        span_id: null,
      },
      file_size_bytes: fileSizeBytes,
      correlation_id: correlationId,
      timestamp: at.toISOString(),
      event: 'essay.validation.failed',
    },
  };
}

/** Serialises an event the way a producer puts it on the wire. */
export function toWire(event: object): Buffer {
  return Buffer.from(JSON.stringify(event));
}

/** An event as the relay publishes it (the outbox stores payloads as jsonb): PostgreSQL's jsonb text form, a space after every `:` and `,`. */
export function jsonbText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([key, entry]) => `${JSON.stringify(key)}: ${jsonbText(entry)}`,
    );
    return `{${entries.join(', ')}}`;
  }
  return JSON.stringify(value);
}
