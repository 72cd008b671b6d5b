import { randomUUID } from 'node:crypto';
import type { BatchEssaysRegistered, CourseCode } from './events/batch-essays-registered';
import type { EssayContentProvisioned } from './events/essay-content-provisioned';
import type { EssayValidationFailed } from './events/essay-validation-failed';
import { TOPICS } from './topics';

/**
 * Factories for input events in the exact shape the Python services emit. Used by tests and by the
 * event generator; not part of the production entry.
 */

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
}

function envelopeFields(eventType: string, eventId: string | undefined, correlationId: string, at: Date) {
  return {
    event_id: eventId ?? randomUUID(),
    event_type: eventType,
    event_timestamp: at.toISOString(),
    source_service:
      eventType === TOPICS.batchEssaysRegistered ? 'batch-orchestrator-service' : 'file-service',
    schema_version: 1,
    correlation_id: correlationId,
    data_schema_uri: null,
    metadata: {},
  };
}

export function makeRegistration(options: RegistrationOptions = {}): BatchEssaysRegistered {
  const batchId = options.batchId ?? `batch-${randomUUID()}`;
  const essayIds =
    options.essayIds ?? Array.from({ length: options.slots ?? 3 }, (_, i) => `${batchId}-essay-${i + 1}`);
  const correlationId = options.correlationId ?? randomUUID();
  return {
    ...envelopeFields(TOPICS.batchEssaysRegistered, options.eventId, correlationId, options.at ?? new Date()),
    data: {
      entity_id: batchId,
      expected_essay_count: essayIds.length,
      essay_ids: essayIds,
      course_code: options.courseCode ?? 'ENG5',
      user_id: options.userId ?? 'user-1',
      org_id: null,
      class_id: options.classId === undefined ? 'class-1' : options.classId,
      student_prompt_ref: null,
      metadata: {},
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
}

export function makeContent(options: ContentOptions): EssayContentProvisioned {
  const textStorageId = options.textStorageId ?? `text-${randomUUID()}`;
  const correlationId = options.correlationId ?? randomUUID();
  const at = options.at ?? new Date();
  return {
    ...envelopeFields(TOPICS.essayContentProvisioned, options.eventId, correlationId, at),
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
}

export function makeValidationFailure(options: ValidationFailureOptions): EssayValidationFailed {
  const fileUploadId = options.fileUploadId ?? `upload-${randomUUID()}`;
  const correlationId = options.correlationId ?? randomUUID();
  const at = options.at ?? new Date();
  return {
    ...envelopeFields(TOPICS.essayValidationFailed, options.eventId, correlationId, at),
    data: {
      entity_id: options.batchId,
      file_upload_id: fileUploadId,
      original_file_name: `${fileUploadId}.pdf`,
      raw_file_storage_id: `raw-${fileUploadId}`,
      validation_error_code: 'EMPTY_CONTENT',
      validation_error_detail: { message: 'no text could be extracted' },
      file_size_bytes: 0,
      correlation_id: correlationId,
      timestamp: at.toISOString(),
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
