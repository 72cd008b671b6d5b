import { z } from 'zod';
import { timestampSchema, uuidSchema } from './envelope';
import { COURSE_CODES } from './events/batch-essays-registered';
import { VALIDATION_ERROR_CODES } from './events/essay-validation-failed';
import { TOPICS } from './topics';

/**
 * The input events as the Python producers' pydantic models serialise them: every field of the model is
 * present (a model dump writes defaults too, None as null), with the types the model declares, and no
 * field the model lacks. Test-only (exported from `@els/contracts/testing`): the worker's contracts stay
 * tolerant and accept any superset; these shapes hold the factories and the event generator to what the
 * real producers send, so the suite's inputs look like production's.
 */

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

/** common_core's SystemProcessingMetadata (the registration's `metadata`). */
export const systemProcessingMetadataShape = z.strictObject({
  entity_id: z.string(),
  entity_type: z.string(),
  parent_id: nullable(z.string()),
  timestamp: timestampSchema,
  processing_stage: nullable(
    z.enum(['pending', 'initialized', 'processing', 'completed', 'failed', 'cancelled']),
  ),
  started_at: nullable(timestampSchema),
  completed_at: nullable(timestampSchema),
  event: nullable(z.string()),
  error_info: z.record(z.string(), z.unknown()),
});

/** common_core's ErrorDetail (the validation failure's `validation_error_detail`). */
export const errorDetailShape = z.strictObject({
  error_code: z.string().min(1),
  message: z.string(),
  correlation_id: uuidSchema,
  timestamp: timestampSchema,
  service: z.string().min(1),
  operation: z.string().min(1),
  details: z.record(z.string(), z.unknown()),
  stack_trace: nullable(z.string()),
  trace_id: nullable(z.string()),
  span_id: nullable(z.string()),
});

const envelopeShape = <T extends z.ZodType>(eventType: string, sourceService: string, data: T) =>
  z.strictObject({
    event_id: uuidSchema,
    event_type: z.literal(eventType),
    event_timestamp: timestampSchema,
    source_service: z.literal(sourceService),
    schema_version: z.literal(1),
    correlation_id: uuidSchema,
    data_schema_uri: nullable(z.string()),
    data,
    // The producers start from {} and let their propagator add traceparent / tracestate.
    metadata: z.record(z.string(), z.unknown()),
  });

const batchEssaysRegisteredShape = envelopeShape(
  TOPICS.batchEssaysRegistered,
  'batch-service',
  z.strictObject({
    event: z.literal('batch.essays.registered'),
    entity_id: z.string(),
    expected_essay_count: z.number().int(),
    essay_ids: z.array(z.string()),
    metadata: systemProcessingMetadataShape,
    course_code: z.enum(COURSE_CODES),
    student_prompt_ref: nullable(z.unknown()),
    user_id: z.string(),
    org_id: nullable(z.string()),
    class_id: nullable(z.string()),
  }),
);

const essayContentProvisionedShape = envelopeShape(
  TOPICS.essayContentProvisioned,
  'file-service',
  z.strictObject({
    event: z.literal('essay.content.provisioned'),
    entity_id: z.string(),
    file_upload_id: z.string(),
    original_file_name: z.string(),
    raw_file_storage_id: z.string(),
    text_storage_id: z.string(),
    file_size_bytes: z.number().int(),
    content_md5_hash: nullable(z.string()),
    correlation_id: uuidSchema,
    timestamp: timestampSchema,
  }),
);

const essayValidationFailedShape = envelopeShape(
  TOPICS.essayValidationFailed,
  'file-service',
  z.strictObject({
    event: z.literal('essay.validation.failed'),
    entity_id: z.string(),
    file_upload_id: z.string(),
    original_file_name: z.string(),
    raw_file_storage_id: z.string(),
    validation_error_code: z.enum(VALIDATION_ERROR_CODES),
    validation_error_detail: errorDetailShape,
    file_size_bytes: z.number().int(),
    correlation_id: uuidSchema,
    timestamp: timestampSchema,
  }),
);

export const PRODUCER_SHAPES = {
  [TOPICS.batchEssaysRegistered]: batchEssaysRegisteredShape,
  [TOPICS.essayContentProvisioned]: essayContentProvisionedShape,
  [TOPICS.essayValidationFailed]: essayValidationFailedShape,
} as const;

/** The producer shape of an input event type, or undefined for any other type. */
export function producerShapeOf(eventType: string): z.ZodType | undefined {
  return (PRODUCER_SHAPES as Record<string, z.ZodType>)[eventType];
}

/** How a decoded event differs from what its producer's model would serialise (empty when it matches). */
export function producerShapeErrors(event: unknown): string[] {
  const eventType = (event as { event_type?: unknown } | null)?.event_type;
  const shape = typeof eventType === 'string' ? producerShapeOf(eventType) : undefined;
  if (!shape) return [`no producer shape for event_type ${String(eventType)}`];
  const result = shape.safeParse(event);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.') || '$'}: ${issue.message}`);
}
