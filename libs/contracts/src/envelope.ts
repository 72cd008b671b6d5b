import { z } from 'zod';

/** `source_service` of every event ELS produces. */
export const ELS_SOURCE_SERVICE = 'essay-lifecycle-service';
export const SCHEMA_VERSION = 1;

/**
 * An ISO-8601 timestamp as the Python services write it: any fractional precision (pydantic emits
 * microseconds), with `Z`, a `+00:00` offset, or (naive datetimes) no offset at all.
 */
export const timestampSchema = z.iso.datetime({ offset: true, local: true });

/** Any RFC-4122-shaped UUID (the Python side uses uuid4; ELS output uses UUIDv5). */
export const uuidSchema = z.guid();

/** Ids are opaque non-empty strings within the storage limits of ./string-limits. */
export { idSchema, idSchemaOf, possiblyEmptyIdSchema, storedTextSchema } from './string-limits';

/** Optional in the Python models: may be absent or null. */
export const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

/**
 * The envelope around every event. Unknown extra fields are accepted and dropped (as pydantic does);
 * output builders always write every listed field.
 */
export function envelopeSchema<T extends z.ZodType>(data: T) {
  return z.object({
    event_id: uuidSchema,
    event_type: z.string().min(1),
    event_timestamp: timestampSchema,
    source_service: z.string().min(1),
    schema_version: z.number().int().min(1).default(SCHEMA_VERSION),
    correlation_id: uuidSchema,
    data_schema_uri: z.string().nullish(),
    data,
    metadata: z
      .record(z.string(), z.unknown())
      .nullish()
      .describe(
        'Cross-cutting fields, not business data. W3C trace context: `traceparent` and optionally `tracestate` (strings); an input whose traceparent does not have the W3C form is processed as if it carried none. ELS outputs carry `partition_key` (their Kafka key) and the trace context of the input that caused them.',
      ),
  });
}

/** The envelope before its payload is checked: enough to route and to name the event in errors. */
export const rawEnvelopeSchema = envelopeSchema(z.record(z.string(), z.unknown()));
export type RawEnvelope = z.infer<typeof rawEnvelopeSchema>;

export interface Envelope<TData> {
  event_id: string;
  event_type: string;
  event_timestamp: string;
  source_service: string;
  schema_version: number;
  correlation_id: string;
  data_schema_uri: string | null;
  data: TData;
  metadata: Record<string, unknown> | null;
}
