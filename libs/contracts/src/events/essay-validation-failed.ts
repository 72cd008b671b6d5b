import { z } from 'zod';
import {
  envelopeSchema,
  idSchema,
  idSchemaOf,
  possiblyEmptyIdSchema,
  storedTextSchema,
  timestampSchema,
  uuidSchema,
} from '../envelope';
import { TOPICS } from '../topics';

export const VALIDATION_ERROR_CODES = [
  'EMPTY_CONTENT',
  'CONTENT_TOO_SHORT',
  'CONTENT_TOO_LONG',
  'RAW_STORAGE_FAILED',
  'TEXT_EXTRACTION_FAILED',
  'ENCRYPTED_FILE_UNSUPPORTED',
  'UNKNOWN_VALIDATION_ERROR',
] as const;

/** File Service rejected a file; it resolves one slot of the batch as failed. */
export const essayValidationFailedDataSchema = z.object({
  entity_id: idSchemaOf('Batch id'),
  file_upload_id: idSchema,
  original_file_name: storedTextSchema,
  raw_file_storage_id: possiblyEmptyIdSchema,
  validation_error_code: z.enum(VALIDATION_ERROR_CODES),
  validation_error_detail: z
    .record(z.string(), z.unknown())
    .describe(
      "The producer's structured error (error_code, message, correlation_id, timestamp, service, operation, details, and optionally stack_trace, trace_id, span_id). Not read or stored by ELS; any object is accepted.",
    ),
  file_size_bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  correlation_id: uuidSchema,
  timestamp: timestampSchema,
  event: z.literal('essay.validation.failed').default('essay.validation.failed'),
});

export const essayValidationFailedSchema = envelopeSchema(essayValidationFailedDataSchema);
export type EssayValidationFailedData = z.infer<typeof essayValidationFailedDataSchema>;
export type EssayValidationFailed = z.infer<typeof essayValidationFailedSchema>;
export const ESSAY_VALIDATION_FAILED_TOPIC = TOPICS.essayValidationFailed;
