import { z } from 'zod';
import { envelopeSchema, idSchema, idSchemaOf, optional, storedTextSchema } from '../envelope';
import { TOPICS } from '../topics';

export const COURSE_CODES = ['ENG5', 'ENG6', 'ENG7', 'SV1', 'SV2', 'SV3'] as const;
export const courseCodeSchema = z.enum(COURSE_CODES);
export type CourseCode = z.infer<typeof courseCodeSchema>;

/** The most slots one registration may hold (the completion event's size bounds it further). */
export const MAX_ESSAYS_PER_BATCH = 100_000;

/** BOS registers a batch: its essay ids are the slots that texts will be assigned to. */
export const batchEssaysRegisteredDataSchema = z
  .object({
    entity_id: idSchemaOf('Batch id'),
    expected_essay_count: z.number().int().min(1).max(MAX_ESSAYS_PER_BATCH),
    essay_ids: z.array(idSchema).min(1).max(MAX_ESSAYS_PER_BATCH),
    course_code: courseCodeSchema,
    user_id: idSchemaOf('User id'),
    org_id: optional(z.string()),
    class_id: optional(
      storedTextSchema.describe(
        'Class id; null means a GUEST batch. Stored free text: well-formed, no NUL, at most 4096 bytes in UTF-8.',
      ),
    ),
    student_prompt_ref: optional(z.unknown()),
    metadata: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "The producer's processing metadata (entity_id and entity_type of the batch, event, timestamp, and optionally parent_id, processing_stage, started_at, completed_at, error_info). Not read or stored by ELS; any object is accepted.",
      ),
    event: z.literal('batch.essays.registered').default('batch.essays.registered'),
  })
  .superRefine((data, ctx) => {
    const seen = new Set<string>();
    data.essay_ids.forEach((id, index) => {
      if (seen.has(id)) {
        ctx.addIssue({ code: 'custom', path: ['essay_ids', index], message: `duplicate essay id "${id}"` });
      }
      seen.add(id);
    });
    if (data.expected_essay_count !== data.essay_ids.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['expected_essay_count'],
        message: `expected_essay_count ${data.expected_essay_count} differs from the ${data.essay_ids.length} essay_ids`,
      });
    }
  });

export const batchEssaysRegisteredSchema = envelopeSchema(batchEssaysRegisteredDataSchema);
export type BatchEssaysRegisteredData = z.infer<typeof batchEssaysRegisteredDataSchema>;
export type BatchEssaysRegistered = z.infer<typeof batchEssaysRegisteredSchema>;
export const BATCH_ESSAYS_REGISTERED_TOPIC = TOPICS.batchEssaysRegistered;
