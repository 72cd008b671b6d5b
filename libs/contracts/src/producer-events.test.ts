import { parseEnvelope, traceContextOf, TOPICS } from './index';
import { makeContent, makeRegistration, makeValidationFailure, producerShapeErrors, toWire } from './testing';

/*
 * One event of each input kind written out by hand the way the Python producers' models dump it (pydantic
 * v2, JSON mode): every model field present, None as null, datetimes with microseconds and `Z`, the
 * registration's SystemProcessingMetadata and the validation failure's ErrorDetail in full, and the trace
 * context their OpenTelemetry propagator injects into the envelope's `metadata`.
 */
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const tracestate = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';

const registration = {
  event_id: '9b2e3c1d-7f4a-4b8e-9c0d-1e2f3a4b5c6d',
  event_type: 'huleedu.batch.essays.registered.v1',
  event_timestamp: '2026-03-04T09:15:27.512344Z',
  source_service: 'batch-service',
  schema_version: 1,
  correlation_id: '0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5',
  data_schema_uri: null,
  data: {
    event: 'batch.essays.registered',
    entity_id: 'b7f3c2a1-0d9e-4c8b-a7f6-e5d4c3b2a190',
    expected_essay_count: 2,
    essay_ids: ['5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d', '6b5c4d3e-2f1a-4b0c-9d8e-7f6a5b4c3d2e'],
    metadata: {
      entity_id: 'b7f3c2a1-0d9e-4c8b-a7f6-e5d4c3b2a190',
      entity_type: 'batch',
      parent_id: null,
      timestamp: '2026-03-04T09:15:27.511902Z',
      processing_stage: null,
      started_at: null,
      completed_at: null,
      event: 'batch.essays.registered',
      error_info: {},
    },
    course_code: 'SV1',
    student_prompt_ref: {
      references: { student_prompt_text: { storage_id: 'prompt-8c1f', path: '' } },
    },
    user_id: 'teacher-42',
    org_id: 'org-7',
    class_id: null,
  },
  metadata: { traceparent, tracestate },
};

const content = {
  event_id: '1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b',
  event_type: 'huleedu.file.essay.content.provisioned.v1',
  event_timestamp: '2026-03-04T09:15:31.004118Z',
  source_service: 'file-service',
  schema_version: 1,
  correlation_id: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
  data_schema_uri: null,
  data: {
    event: 'essay.content.provisioned',
    entity_id: 'b7f3c2a1-0d9e-4c8b-a7f6-e5d4c3b2a190',
    file_upload_id: 'e3d2c1b0-a9f8-4e7d-8c6b-5a4f3e2d1c0b',
    original_file_name: 'Uppsats – Åsa Öberg.docx',
    raw_file_storage_id: '8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a',
    text_storage_id: '0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d',
    file_size_bytes: 48213,
    content_md5_hash: '9e107d9d372bb6826bd81d3542a419d6',
    correlation_id: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
    timestamp: '2026-03-04T09:15:31.003877Z',
  },
  metadata: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
};

const validationFailure = {
  event_id: '7c6b5a49-3827-4165-8f4e-3d2c1b0a9f8e',
  event_type: 'huleedu.file.essay.validation.failed.v1',
  event_timestamp: '2026-03-04T09:15:31.250611Z',
  source_service: 'file-service',
  schema_version: 1,
  correlation_id: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
  data_schema_uri: null,
  data: {
    event: 'essay.validation.failed',
    entity_id: 'b7f3c2a1-0d9e-4c8b-a7f6-e5d4c3b2a190',
    file_upload_id: 'f4e3d2c1-b0a9-4f8e-9d7c-6b5a4f3e2d1c',
    original_file_name: 'scan.pdf',
    raw_file_storage_id: 'STORAGE_FAILED',
    validation_error_code: 'RAW_STORAGE_FAILED',
    validation_error_detail: {
      error_code: 'RAW_STORAGE_FAILED',
      message: 'Failed to store raw file: content service unavailable',
      correlation_id: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
      timestamp: '2026-03-04T09:15:31.249870Z',
      service: 'file_service',
      operation: 'process_single_file_upload',
      details: {
        batch_id: 'b7f3c2a1-0d9e-4c8b-a7f6-e5d4c3b2a190',
        file_name: 'scan.pdf',
        file_size_bytes: 1048,
      },
      stack_trace: null,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'c1d2e3f4a5b6c7d8',
    },
    file_size_bytes: 1048,
    correlation_id: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
    timestamp: '2026-03-04T09:15:31.250133Z',
  },
  metadata: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-c1d2e3f4a5b6c7d8-01' },
};

const realistic = { registration, content, validationFailure };

describe('input events shaped as the Python producers send them', () => {
  it.each(Object.entries(realistic))('the hand-written %s has its producer model shape', (_, event) => {
    expect(producerShapeErrors(event)).toEqual([]);
  });

  it.each(Object.entries(realistic))('a %s parses, with its trace context readable', (_, event) => {
    const parsed = parseEnvelope(toWire(event), event.event_type);
    expect(parsed).toMatchObject({ ok: true });
    if (!parsed.ok) return;
    expect(traceContextOf(parsed.event.envelope.metadata)).toEqual(event.metadata);
  });

  it.each(Object.entries(realistic))(
    'a %s with fields no model of ours knows (envelope, data, nested) still parses',
    (_, event) => {
      const extended = {
        ...event,
        producer_build: 'file-service@4.2.1',
        data: { ...event.data, added_in_a_later_release: { nested: [1, 2] } },
        metadata: { ...event.metadata, baggage: 'tenant=7', retry_count: 2 },
      };
      expect(parseEnvelope(toWire(extended), event.event_type)).toMatchObject({ ok: true });
    },
  );

  it('a validation failure whose error detail is any other object still parses (ELS does not read it)', () => {
    const odd = {
      ...validationFailure,
      data: { ...validationFailure.data, validation_error_detail: { only: 'a message' } },
    };
    expect(parseEnvelope(toWire(odd), TOPICS.essayValidationFailed)).toMatchObject({ ok: true });
  });

  it('the test factories produce the producer model shapes, with and without a trace context', () => {
    const trace = { traceparent, tracestate };
    const batchId = 'batch-1';
    for (const event of [
      makeRegistration({ batchId }),
      makeRegistration({ batchId, classId: null, traceContext: trace }),
      makeContent({ batchId }),
      makeContent({ batchId, traceContext: { traceparent } }),
      makeValidationFailure({ batchId }),
      makeValidationFailure({ batchId, traceContext: trace }),
    ]) {
      expect(producerShapeErrors(JSON.parse(toWire(event).toString()))).toEqual([]);
    }
  });

  it('the producer shapes refuse what the models would never dump (a missing field, an extra one)', () => {
    const { metadata: _dropped, ...withoutMetadata } = registration.data;
    expect(producerShapeErrors({ ...registration, data: withoutMetadata })).toEqual([
      'data.metadata: Invalid input: expected object, received undefined',
    ]);
    const detail = { ...validationFailure.data.validation_error_detail, severity: 'high' };
    expect(
      producerShapeErrors({
        ...validationFailure,
        data: { ...validationFailure.data, validation_error_detail: detail },
      }),
    ).toHaveLength(1);
  });
});
