import { z } from 'zod';
import { envelopeSchema, idSchema, storedTextSchema, timestampSchema, uuidSchema } from '../envelope';
import { TOPICS } from '../topics';

/** A distinct text found no slot because every slot of its batch was resolved. Kafka key: batch_id. */
export const excessContentProvisionedDataSchema = z.object({
  batch_id: idSchema,
  original_file_name: storedTextSchema,
  text_storage_id: idSchema,
  reason: z.literal('NO_AVAILABLE_SLOT'),
  correlation_id: uuidSchema,
  timestamp: timestampSchema,
  event: z.literal('excess.content.provisioned').default('excess.content.provisioned'),
});

export const excessContentProvisionedSchema = envelopeSchema(excessContentProvisionedDataSchema);
export type ExcessContentProvisionedData = z.infer<typeof excessContentProvisionedDataSchema>;
export type ExcessContentProvisioned = z.infer<typeof excessContentProvisionedSchema>;
export const EXCESS_CONTENT_PROVISIONED_TOPIC = TOPICS.excessContentProvisioned;
