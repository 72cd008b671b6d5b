import { z } from 'zod';
import { envelopeSchema, idSchema, storedTextSchema, timestampSchema, uuidSchema } from '../envelope';
import { TOPICS } from '../topics';

/** ELS bound a text to a slot. Kafka key: essay_id. */
export const essaySlotAssignedDataSchema = z.object({
  batch_id: idSchema,
  essay_id: idSchema,
  file_upload_id: idSchema,
  text_storage_id: idSchema,
  original_file_name: storedTextSchema,
  correlation_id: uuidSchema,
  timestamp: timestampSchema,
  event: z.literal('essay.slot.assigned').default('essay.slot.assigned'),
});

export const essaySlotAssignedSchema = envelopeSchema(essaySlotAssignedDataSchema);
export type EssaySlotAssignedData = z.infer<typeof essaySlotAssignedDataSchema>;
export type EssaySlotAssigned = z.infer<typeof essaySlotAssignedSchema>;
export const ESSAY_SLOT_ASSIGNED_TOPIC = TOPICS.essaySlotAssigned;
