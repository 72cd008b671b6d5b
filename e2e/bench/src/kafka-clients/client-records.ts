// The records of the Kafka client comparison: shaped like the worker's output events (a JSON envelope of
// about 600 bytes, the batch id as key, the event id and origin headers), encoded once per record.
import { TOPICS } from '@els/contracts';

/** Records per produce call: the relay's default batch (ELS_RELAY_BATCH_SIZE). */
export const PRODUCE_BATCH = 200;

const BATCHES = 500;

export interface EncodedRecord {
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
}

export function encodeRecord(i: number): EncodedRecord {
  const batchId = `batch-${String(i % BATCHES).padStart(6, '0')}-5f0c1d8e-9a4b-4c7e-8f21`;
  const eventId = `0f8e2a4c-${String(i).padStart(12, '0')}-4d6b-9e1f`;
  const envelope = {
    event_id: eventId,
    event_type: TOPICS.essaySlotAssigned,
    event_timestamp: '2026-12-01T12:00:00.000Z',
    source_service: 'essay-lifecycle-service',
    correlation_id: `corr-${batchId}`,
    data: {
      batch_id: batchId,
      essay_id: `essay-${String(i).padStart(8, '0')}-3b9d2f6a`,
      text_storage_id: `text-${String(i).padStart(8, '0')}-7c1e5a9b-2d4f-4e8a-b6c3`,
      original_file_name: `essay-${i}.docx`,
      file_upload_id: `upload-${String(i).padStart(8, '0')}-8e2f`,
      assigned_at: '2026-12-01T12:00:00.000Z',
    },
  };
  return {
    key: Buffer.from(batchId),
    value: Buffer.from(JSON.stringify(envelope)),
    headers: { 'x-els-event-id': Buffer.from(eventId), 'x-els-origin': Buffer.from('relay') },
  };
}

/** The records 0 … total-1, encoded, in produce calls of PRODUCE_BATCH. */
export function* recordBatches(total: number): Generator<EncodedRecord[]> {
  for (let first = 0; first < total; first += PRODUCE_BATCH) {
    const batch: EncodedRecord[] = [];
    for (let i = first; i < Math.min(total, first + PRODUCE_BATCH); i++) batch.push(encodeRecord(i));
    yield batch;
  }
}
