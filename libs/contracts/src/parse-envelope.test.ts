import { randomBytes } from 'node:crypto';
import { CONTRACT_ERROR_CODES, parseEnvelope, TOPICS } from './index';
import { makeContent, makeRegistration, makeValidationFailure, toWire } from './testing';

type Json = Record<string, unknown>;
const clone = (value: object): Json => JSON.parse(JSON.stringify(value)) as Json;
const data = (event: Json) => event['data'] as Json;

function expectError(value: unknown, code: string, path?: string) {
  const result = parseEnvelope(typeof value === 'string' ? value : JSON.stringify(value), 'test.topic');
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  if (path) expect(result.error.path).toBe(path);
  expect(result.error.reason.length).toBeGreaterThan(0);
}

describe('parseEnvelope', () => {
  it('accepts every input event built by the factories and tags it with its contract name', () => {
    const registration = parseEnvelope(toWire(makeRegistration()), TOPICS.batchEssaysRegistered);
    const content = parseEnvelope(toWire(makeContent({ batchId: 'b1' })), TOPICS.essayContentProvisioned);
    const failure = parseEnvelope(
      toWire(makeValidationFailure({ batchId: 'b1' })),
      TOPICS.essayValidationFailed,
    );
    expect(registration.ok && registration.event.name).toBe('BatchEssaysRegistered');
    expect(content.ok && content.event.name).toBe('EssayContentProvisionedV1');
    expect(failure.ok && failure.event.name).toBe('EssayValidationFailedV1');
  });

  it('accepts what the Python services emit: extra fields, microsecond +00:00 timestamps, nulls for optionals', () => {
    const event = clone(makeContent({ batchId: 'b1' }));
    event['event_timestamp'] = '2025-06-01T12:34:56.123456+00:00';
    event['unknown_top_level'] = { nested: true };
    Object.assign(data(event), {
      timestamp: '2025-06-01T12:34:56.654321Z',
      content_md5_hash: null,
      extra_field_from_newer_producer: 42,
    });
    event['metadata'] = null;
    event['data_schema_uri'] = null;
    const result = parseEnvelope(JSON.stringify(event), TOPICS.essayContentProvisioned);
    expect(result.ok).toBe(true);
    if (result.ok && result.event.name === 'EssayContentProvisionedV1') {
      expect(result.event.envelope.data.text_storage_id).toBe(data(event)['text_storage_id']);
      expect(result.event.envelope.data).not.toHaveProperty('extra_field_from_newer_producer');
    }
  });

  it('accepts a registration of a GUEST batch (class_id null) with optional fields absent', () => {
    const event = clone(makeRegistration({ classId: null }));
    delete data(event)['org_id'];
    delete data(event)['student_prompt_ref'];
    expect(parseEnvelope(JSON.stringify(event), 't').ok).toBe(true);
  });

  it('survives any byte string without throwing', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(Math.floor(Math.random() * 512));
      const result = parseEnvelope(bytes, 't');
      expect(result.ok).toBe(false);
    }
    for (const value of ['null', '[]', '"text"', '42', 'true', '{"data":null}', '{"event_type":{}}']) {
      expect(parseEnvelope(value, 't').ok).toBe(false);
    }
    expect(parseEnvelope(null, 't').ok).toBe(false);
    expect(parseEnvelope(Buffer.alloc(0), 't').ok).toBe(false);
  });

  it('rejects a message over the size limit before parsing it', () => {
    const event = clone(makeContent({ batchId: 'b1' }));
    data(event)['original_file_name'] = 'x'.repeat(3 * 1024 * 1024);
    expectError(event, CONTRACT_ERROR_CODES.tooLarge, '$');
    const small = parseEnvelope(toWire(makeContent({ batchId: 'b1' })), 't', { maxBytes: 10 });
    expect(!small.ok && small.error.code).toBe(CONTRACT_ERROR_CODES.tooLarge);
  });

  it('names the unknown event type', () => {
    const event = clone(makeContent({ batchId: 'b1' }));
    event['event_type'] = 'huleedu.something.else.v1';
    expectError(event, CONTRACT_ERROR_CODES.unknownEventType, '$.event_type');
  });

  it('rejects not-JSON and invalid UTF-8', () => {
    expectError('{not json', CONTRACT_ERROR_CODES.notJson, '$');
    const result = parseEnvelope(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 't');
    expect(!result.ok && result.error.code).toBe(CONTRACT_ERROR_CODES.notJson);
  });

  describe('envelope shapes', () => {
    const cases: Array<[string, (e: Json) => void, string]> = [
      ['missing event_id', (e) => delete e['event_id'], '$.event_id'],
      ['event_id not a UUID', (e) => (e['event_id'] = 'abc'), '$.event_id'],
      ['timestamp not ISO-8601', (e) => (e['event_timestamp'] = 'yesterday'), '$.event_timestamp'],
      ['data not an object', (e) => (e['data'] = 'text'), '$.data'],
      ['correlation_id missing', (e) => delete e['correlation_id'], '$.correlation_id'],
      ['schema_version a string', (e) => (e['schema_version'] = '1'), '$.schema_version'],
    ];
    it.each(cases)('rejects an envelope with %s', (_name, mutate, path) => {
      const event = clone(makeContent({ batchId: 'b1' }));
      mutate(event);
      expectError(event, CONTRACT_ERROR_CODES.invalidEnvelope, path);
    });
  });

  describe('BatchEssaysRegistered', () => {
    const cases: Array<[string, (d: Json) => void, string]> = [
      [
        'empty essay_ids',
        (d) => ((d['essay_ids'] = []), (d['expected_essay_count'] = 0)),
        '$.data.expected_essay_count',
      ],
      [
        'duplicate essay ids',
        (d) => ((d['essay_ids'] = ['a', 'b', 'a']), (d['expected_essay_count'] = 3)),
        '$.data.essay_ids[2]',
      ],
      [
        'count differing from essay_ids',
        (d) => (d['expected_essay_count'] = 99),
        '$.data.expected_essay_count',
      ],
      ['unknown course code', (d) => (d['course_code'] = 'MATH1'), '$.data.course_code'],
      ['missing entity_id', (d) => delete d['entity_id'], '$.data.entity_id'],
      ['essay id of the wrong type', (d) => (d['essay_ids'] = [1, 2, 3]), '$.data.essay_ids[0]'],
      ['empty user_id', (d) => (d['user_id'] = ''), '$.data.user_id'],
      ['fractional count', (d) => (d['expected_essay_count'] = 2.5), '$.data.expected_essay_count'],
    ];
    it.each(cases)('rejects %s', (_name, mutate, path) => {
      const event = clone(makeRegistration({ slots: 3 }));
      mutate(data(event));
      expectError(event, CONTRACT_ERROR_CODES.invalidData, path);
    });
  });

  describe('EssayContentProvisionedV1', () => {
    const cases: Array<[string, (d: Json) => void, string]> = [
      ['missing text_storage_id', (d) => delete d['text_storage_id'], '$.data.text_storage_id'],
      ['empty text_storage_id', (d) => (d['text_storage_id'] = ''), '$.data.text_storage_id'],
      ['negative file size', (d) => (d['file_size_bytes'] = -1), '$.data.file_size_bytes'],
      ['file size as a string', (d) => (d['file_size_bytes'] = '2048'), '$.data.file_size_bytes'],
      ['correlation id not a UUID', (d) => (d['correlation_id'] = 'nope'), '$.data.correlation_id'],
      ['missing batch id', (d) => delete d['entity_id'], '$.data.entity_id'],
      ['wrong event literal', (d) => (d['event'] = 'essay.other'), '$.data.event'],
    ];
    it.each(cases)('rejects %s', (_name, mutate, path) => {
      const event = clone(makeContent({ batchId: 'b1' }));
      mutate(data(event));
      expectError(event, CONTRACT_ERROR_CODES.invalidData, path);
    });
  });

  describe('EssayValidationFailedV1', () => {
    const cases: Array<[string, (d: Json) => void, string]> = [
      [
        'unknown validation code',
        (d) => (d['validation_error_code'] = 'BAD'),
        '$.data.validation_error_code',
      ],
      ['missing file_upload_id', (d) => delete d['file_upload_id'], '$.data.file_upload_id'],
      ['detail not an object', (d) => (d['validation_error_detail'] = 'x'), '$.data.validation_error_detail'],
      ['timestamp not a date', (d) => (d['timestamp'] = 12), '$.data.timestamp'],
      ['missing batch id', (d) => delete d['entity_id'], '$.data.entity_id'],
      ['negative size', (d) => (d['file_size_bytes'] = -5), '$.data.file_size_bytes'],
    ];
    it.each(cases)('rejects %s', (_name, mutate, path) => {
      const event = clone(makeValidationFailure({ batchId: 'b1' }));
      mutate(data(event));
      expectError(event, CONTRACT_ERROR_CODES.invalidData, path);
    });
  });
});
