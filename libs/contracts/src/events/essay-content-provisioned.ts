import { z } from 'zod';
import {
  envelopeSchema,
  idSchema,
  idSchemaOf,
  optional,
  storedTextSchema,
  timestampSchema,
  uuidSchema,
} from '../envelope';
import { TOPICS } from '../topics';

/** File Service extracted a text; it carries the batch id but no essay id. */
export const essayContentProvisionedDataSchema = z.object({
  entity_id: idSchemaOf('Batch id'),
  file_upload_id: idSchema,
  original_file_name: storedTextSchema,
  raw_file_storage_id: idSchema,
  text_storage_id: idSchemaOf('Idempotency key within a batch'),
  file_size_bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  content_md5_hash: optional(z.string()),
  correlation_id: uuidSchema,
  timestamp: timestampSchema,
  event: z.literal('essay.content.provisioned').default('essay.content.provisioned'),
});

export const essayContentProvisionedSchema = envelopeSchema(essayContentProvisionedDataSchema);
export type EssayContentProvisionedData = z.infer<typeof essayContentProvisionedDataSchema>;
export type EssayContentProvisioned = z.infer<typeof essayContentProvisionedSchema>;
export const ESSAY_CONTENT_PROVISIONED_TOPIC = TOPICS.essayContentProvisioned;
