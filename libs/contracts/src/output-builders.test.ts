import {
  buildBatchContentProvisioningCompleted,
  buildEssaySlotAssigned,
  buildExcessContentProvisioned,
  parseEnvelope,
  topicName,
  baseTopicOf,
  TOPICS,
  uuidV5,
} from './index';

const correlationId = '3f1d7a52-4f7e-4c1a-9d55-2b7f0f6f9a10';
const at = new Date('2026-01-02T03:04:05.678Z');

describe('output builders', () => {
  it('compute the RFC 4122 UUIDv5 test vector', () => {
    // python: uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org')
    expect(uuidV5('python.org', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '886313e1-3b8a-5372-9b90-0c9aee199e5d',
    );
  });

  it('give a re-built event the same id and other events other ids', () => {
    const input = {
      batchId: 'b1',
      essayId: 'e1',
      fileUploadId: 'f1',
      textStorageId: 't1',
      originalFileName: 'a',
      correlationId,
      at,
    };
    const first = buildEssaySlotAssigned(input);
    const again = buildEssaySlotAssigned({ ...input, at: new Date() });
    const other = buildEssaySlotAssigned({ ...input, essayId: 'e2' });
    expect(again.envelope.event_id).toBe(first.envelope.event_id);
    expect(other.envelope.event_id).not.toBe(first.envelope.event_id);
    expect(first.key).toBe('e1');
  });

  it('produce envelopes that parse back under their own contract with every listed field', () => {
    const events = [
      buildEssaySlotAssigned({
        batchId: 'b1',
        essayId: 'e1',
        fileUploadId: 'f1',
        textStorageId: 't1',
        originalFileName: 'a',
        correlationId,
        at,
      }),
      buildExcessContentProvisioned({
        batchId: 'b1',
        textStorageId: 't9',
        originalFileName: 'z',
        correlationId,
        at,
      }),
      buildBatchContentProvisioningCompleted({
        batchId: 'b1',
        expectedCount: 2,
        courseCode: 'SV1',
        userId: 'u',
        essaysForProcessing: [{ essay_id: 'e1', text_storage_id: 't1' }],
        correlationId,
        at,
      }),
    ];
    for (const event of events) {
      const parsed = parseEnvelope(JSON.stringify(event.envelope), event.topic);
      expect(parsed.ok).toBe(true);
      expect(Object.keys(event.envelope).sort()).toEqual([
        'correlation_id',
        'data',
        'data_schema_uri',
        'event_id',
        'event_timestamp',
        'event_type',
        'metadata',
        'schema_version',
        'source_service',
      ]);
      expect(event.envelope.source_service).toBe('essay-lifecycle-service');
      expect(event.envelope.event_type).toBe(event.topic);
    }
    const completion = events[2]?.envelope.data as { provisioned_count: number; expected_count: number };
    expect(completion.provisioned_count).toBe(1);
    expect(completion.expected_count).toBe(2);
  });

  it('name their event in data.event, as the Python models do', () => {
    const slot = buildEssaySlotAssigned({
      batchId: 'b1',
      essayId: 'e1',
      fileUploadId: 'f1',
      textStorageId: 't1',
      originalFileName: 'a',
      correlationId,
      at,
    });
    const excess = buildExcessContentProvisioned({
      batchId: 'b1',
      textStorageId: 't9',
      originalFileName: 'z',
      correlationId,
      at,
    });
    expect(slot.envelope.data.event).toBe('essay.slot.assigned');
    expect(excess.envelope.data.event).toBe('excess.content.provisioned');
    for (const built of [slot, excess]) {
      const parsed = parseEnvelope(JSON.stringify(built.envelope), built.topic);
      expect(parsed.ok && (parsed.event.envelope.data as { event: string }).event).toBe(
        built.envelope.data.event,
      );
    }
  });

  it('carry the trace context they are given in metadata beside the partition key, and none otherwise', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const base = { batchId: 'b1', textStorageId: 't9', originalFileName: 'z', correlationId, at };
    expect(
      buildExcessContentProvisioned({ ...base, traceContext: { traceparent, tracestate: 'rojo=1' } }).envelope
        .metadata,
    ).toEqual({ partition_key: 'b1', traceparent, tracestate: 'rojo=1' });
    const completion = buildBatchContentProvisioningCompleted({
      batchId: 'b1',
      expectedCount: 1,
      courseCode: 'SV1',
      userId: 'u',
      essaysForProcessing: [],
      correlationId,
      traceContext: { traceparent },
      at,
    });
    expect(completion.envelope.metadata).toEqual({ partition_key: 'b1', traceparent });
    expect(buildExcessContentProvisioned(base).envelope.metadata).toEqual({ partition_key: 'b1' });
    expect(buildExcessContentProvisioned({ ...base, traceContext: null }).envelope.metadata).toEqual({
      partition_key: 'b1',
    });
  });

  it('prefix topics for isolation and map them back', () => {
    expect(topicName(TOPICS.deadLetter, 'run42.')).toBe('run42.huleedu.els.dead.letter.v1');
    expect(baseTopicOf('run42.huleedu.els.dead.letter.v1', 'run42.')).toBe(TOPICS.deadLetter);
    expect(baseTopicOf('other.topic', 'run42.')).toBeUndefined();
    expect(() => topicName(TOPICS.deadLetter, 'bad prefix!')).toThrow(RangeError);
  });
});
