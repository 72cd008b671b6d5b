import { z } from 'zod';
import { envelopeSchema, idSchema, timestampSchema, uuidSchema } from '../envelope';
import { TOPICS } from '../topics';
import { courseCodeSchema, MAX_ESSAYS_PER_BATCH } from './batch-essays-registered';

/** Every slot of a batch is resolved (assigned or failed); sent exactly once per batch. Kafka key: batch_id. */
export const batchContentProvisioningCompletedDataSchema = z.object({
  batch_id: idSchema,
  provisioned_count: z.number().int().min(0).max(MAX_ESSAYS_PER_BATCH).describe('slots holding a text'),
  expected_count: z.number().int().min(1).max(MAX_ESSAYS_PER_BATCH).describe('slots registered'),
  course_code: courseCodeSchema,
  user_id: idSchema,
  essays_for_processing: z.array(z.object({ essay_id: idSchema, text_storage_id: idSchema })),
  correlation_id: uuidSchema,
  timestamp: timestampSchema,
  event: z.literal('batch.content.provisioning.completed').default('batch.content.provisioning.completed'),
});

export const batchContentProvisioningCompletedSchema = envelopeSchema(
  batchContentProvisioningCompletedDataSchema,
);
export type BatchContentProvisioningCompletedData = z.infer<
  typeof batchContentProvisioningCompletedDataSchema
>;
export type BatchContentProvisioningCompleted = z.infer<typeof batchContentProvisioningCompletedSchema>;
export const BATCH_CONTENT_PROVISIONING_COMPLETED_TOPIC = TOPICS.batchContentProvisioningCompleted;
