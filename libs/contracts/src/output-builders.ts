import { ELS_SOURCE_SERVICE, SCHEMA_VERSION, type Envelope } from './envelope';
import type { BatchContentProvisioningCompletedData } from './events/batch-content-provisioning-completed';
import type { CourseCode } from './events/batch-essays-registered';
import type { EssaySlotAssignedData } from './events/essay-slot-assigned';
import type { ExcessContentProvisionedData } from './events/excess-content-provisioned';
import { deterministicEventId } from './event-id';
import { traceMetadata, type TraceContext } from './trace-context';
import { TOPICS, type BaseTopic } from './topics';

/** An output event ready for the outbox: base topic, Kafka key and the envelope to serialise. */
export interface OutboundEvent<TData = unknown> {
  topic: BaseTopic;
  key: string;
  envelope: Envelope<TData>;
}

function envelope<TData>(
  eventType: BaseTopic,
  eventId: string,
  correlationId: string,
  at: Date,
  data: TData,
  partitionKey: string,
  traceContext: TraceContext | null | undefined,
): Envelope<TData> {
  return {
    event_id: eventId,
    event_type: eventType,
    event_timestamp: at.toISOString(),
    source_service: ELS_SOURCE_SERVICE,
    schema_version: SCHEMA_VERSION,
    correlation_id: correlationId,
    data_schema_uri: null,
    data,
    metadata: { partition_key: partitionKey, ...traceMetadata(traceContext) },
  };
}

export interface SlotAssignedInput {
  batchId: string;
  essayId: string;
  fileUploadId: string;
  textStorageId: string;
  originalFileName: string;
  correlationId: string;
  /** The content event's trace context (see ./trace-context). */
  traceContext?: TraceContext | null;
  at: Date;
}

/** One per slot: the id depends on the batch and the slot, so a redelivered text cannot mint a second one. */
export function buildEssaySlotAssigned(input: SlotAssignedInput): OutboundEvent<EssaySlotAssignedData> {
  const data: EssaySlotAssignedData = {
    batch_id: input.batchId,
    essay_id: input.essayId,
    file_upload_id: input.fileUploadId,
    text_storage_id: input.textStorageId,
    original_file_name: input.originalFileName,
    correlation_id: input.correlationId,
    timestamp: input.at.toISOString(),
    event: 'essay.slot.assigned',
  };
  const id = deterministicEventId('EssaySlotAssignedV1', [input.batchId, input.essayId]);
  return {
    topic: TOPICS.essaySlotAssigned,
    key: input.essayId,
    envelope: envelope(
      TOPICS.essaySlotAssigned,
      id,
      input.correlationId,
      input.at,
      data,
      input.essayId,
      input.traceContext,
    ),
  };
}

export interface ExcessInput {
  batchId: string;
  textStorageId: string;
  originalFileName: string;
  correlationId: string;
  /** The content event's trace context. */
  traceContext?: TraceContext | null;
  at: Date;
}

/** One per (batch, text). */
export function buildExcessContentProvisioned(
  input: ExcessInput,
): OutboundEvent<ExcessContentProvisionedData> {
  const data: ExcessContentProvisionedData = {
    batch_id: input.batchId,
    original_file_name: input.originalFileName,
    text_storage_id: input.textStorageId,
    reason: 'NO_AVAILABLE_SLOT',
    correlation_id: input.correlationId,
    timestamp: input.at.toISOString(),
    event: 'excess.content.provisioned',
  };
  const id = deterministicEventId('ExcessContentProvisionedV1', [input.batchId, input.textStorageId]);
  return {
    topic: TOPICS.excessContentProvisioned,
    key: input.batchId,
    envelope: envelope(
      TOPICS.excessContentProvisioned,
      id,
      input.correlationId,
      input.at,
      data,
      input.batchId,
      input.traceContext,
    ),
  };
}

export interface CompletionInput {
  batchId: string;
  expectedCount: number;
  courseCode: CourseCode;
  userId: string;
  essaysForProcessing: Array<{ essay_id: string; text_storage_id: string }>;
  /** The registration's correlation id. */
  correlationId: string;
  /** The registration's trace context, whichever input resolved the last slot. */
  traceContext?: TraceContext | null;
  at: Date;
}

/** One per batch: the id depends on the batch alone. */
export function buildBatchContentProvisioningCompleted(
  input: CompletionInput,
): OutboundEvent<BatchContentProvisioningCompletedData> {
  const data: BatchContentProvisioningCompletedData = {
    batch_id: input.batchId,
    provisioned_count: input.essaysForProcessing.length,
    expected_count: input.expectedCount,
    course_code: input.courseCode,
    user_id: input.userId,
    essays_for_processing: input.essaysForProcessing,
    correlation_id: input.correlationId,
    timestamp: input.at.toISOString(),
    event: 'batch.content.provisioning.completed',
  };
  const id = deterministicEventId('BatchContentProvisioningCompletedV1', [input.batchId]);
  return {
    topic: TOPICS.batchContentProvisioningCompleted,
    key: input.batchId,
    envelope: envelope(
      TOPICS.batchContentProvisioningCompleted,
      id,
      input.correlationId,
      input.at,
      data,
      input.batchId,
      input.traceContext,
    ),
  };
}
