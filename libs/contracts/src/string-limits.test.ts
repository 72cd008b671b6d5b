import { CONTRACT_ERROR_CODES, ID_MAX_BYTES, parseEnvelope, TEXT_FIELD_MAX_BYTES, TOPICS } from './index';
import { makeContent, makeRegistration, makeValidationFailure, toWire } from './testing';

type Json = Record<string, unknown>;
const clone = (value: object): Json => JSON.parse(JSON.stringify(value)) as Json;
const data = (event: Json) => event['data'] as Json;

/** 512 CJK characters: 512 UTF-16 code units, 1536 bytes of UTF-8. */
const CJK_512 = '字'.repeat(512);

function parse(wire: string) {
  return parseEnvelope(wire, 'test.topic');
}

function expectInvalidData(wire: string, path: string, reason: RegExp) {
  const result = parse(wire);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(CONTRACT_ERROR_CODES.invalidData);
  expect(result.error.issues).toContainEqual({ path, reason: expect.stringMatching(reason) });
}

function contentWith(fields: Json): string {
  const event = clone(makeContent({ batchId: 'b1' }));
  Object.assign(data(event), fields);
  return JSON.stringify(event);
}

/** An id of exactly `bytes` bytes of UTF-8: three-byte CJK characters, topped up with ASCII. */
function idOfBytes(bytes: number): string {
  return '字'.repeat(Math.floor(bytes / 3)) + 'a'.repeat(bytes % 3);
}

describe('storage limits of ids and stored text', () => {
  it('rejects a content event whose batch and text ids are 512 CJK characters (too many bytes for an index entry)', () => {
    expectInvalidData(
      contentWith({ entity_id: CJK_512, text_storage_id: CJK_512 }),
      '$.data.entity_id',
      /at most 512 bytes in UTF-8 \(has 1536\)/,
    );
    expectInvalidData(
      contentWith({ entity_id: CJK_512, text_storage_id: CJK_512 }),
      '$.data.text_storage_id',
      /at most 512 bytes/,
    );
  });

  it('accepts an id of exactly 512 bytes of UTF-8 and rejects one of 513', () => {
    expect(Buffer.byteLength(idOfBytes(ID_MAX_BYTES))).toBe(512);
    expect(parse(contentWith({ entity_id: idOfBytes(512), text_storage_id: idOfBytes(512) })).ok).toBe(true);
    // Four-byte characters (surrogate pairs) count four bytes, not two code units.
    expect(parse(contentWith({ text_storage_id: '😀'.repeat(128) })).ok).toBe(true);
    expectInvalidData(contentWith({ text_storage_id: idOfBytes(513) }), '$.data.text_storage_id', /has 513/);
    expectInvalidData(
      contentWith({ file_upload_id: 'a'.repeat(513) }),
      '$.data.file_upload_id',
      /at most 512 bytes/,
    );
  });

  it('rejects ids that are JSON \\ud800 escapes (unpaired surrogates) in every event', () => {
    const content = contentWith({ text_storage_id: 'text-@@' }).replace('text-@@', 'text-\\ud800');
    expect(JSON.parse(content).data.text_storage_id).toBe('text-\ud800');
    expectInvalidData(content, '$.data.text_storage_id', /well-formed UTF-16/);

    const failure = clone(makeValidationFailure({ batchId: 'b1', fileUploadId: 'upload-@@' }));
    expectInvalidData(
      JSON.stringify(failure).replace('"upload-@@"', '"upload-\\udfff"'),
      '$.data.file_upload_id',
      /well-formed UTF-16/,
    );
  });

  it('rejects a registration whose two essay ids differ only in unpaired surrogates', () => {
    const registration = clone(makeRegistration({ batchId: 'b1', essayIds: ['essay-@1', 'essay-@2'] }));
    const wire = JSON.stringify(registration)
      .replace('"essay-@1"', '"essay-\\ud800"')
      .replace('"essay-@2"', '"essay-\\udbff"');
    // Distinct strings to JavaScript, one and the same string once encoded to UTF-8 (U+FFFD).
    const ids = (JSON.parse(wire) as { data: { essay_ids: string[] } }).data.essay_ids;
    expect(new Set(ids).size).toBe(2);
    expect(new Set(ids.map((id) => Buffer.from(id).toString())).size).toBe(1);
    expectInvalidData(wire, '$.data.essay_ids[0]', /well-formed UTF-16/);
    expectInvalidData(wire, '$.data.essay_ids[1]', /well-formed UTF-16/);
  });

  it.each([
    ['a NUL in the batch id', { entity_id: 'b\u00001' }, '$.data.entity_id'],
    ['a NUL in the text id', { text_storage_id: 'text\u0000' }, '$.data.text_storage_id'],
    ['a newline in the file upload id', { file_upload_id: 'up\nload' }, '$.data.file_upload_id'],
    ['a DEL in the raw file id', { raw_file_storage_id: 'raw\u007f' }, '$.data.raw_file_storage_id'],
    ['an escape character in the text id', { text_storage_id: '\u001b[31m' }, '$.data.text_storage_id'],
  ])('rejects a content event with %s', (_name, fields, path) => {
    expectInvalidData(contentWith(fields), path, /control characters/);
  });

  it('rejects NUL and control characters in the ids of a registration', () => {
    const registration = clone(makeRegistration({ batchId: 'b1', essayIds: ['e\u00001', 'e2'] }));
    Object.assign(data(registration), { user_id: 'user\t1', class_id: 'class\u00001' });
    const wire = JSON.stringify(registration);
    expectInvalidData(wire, '$.data.essay_ids[0]', /control characters/);
    expectInvalidData(wire, '$.data.user_id', /control characters/);
    expectInvalidData(wire, '$.data.class_id', /NUL/);
  });

  it('rejects an original file name with a NUL, an unpaired surrogate or more than 4096 bytes, and keeps other text', () => {
    expectInvalidData(
      contentWith({ original_file_name: 'a\u0000.docx' }),
      '$.data.original_file_name',
      /NUL/,
    );
    expectInvalidData(
      contentWith({ original_file_name: '@@' }).replace('"@@"', '"\\udc00.docx"'),
      '$.data.original_file_name',
      /well-formed UTF-16/,
    );
    expectInvalidData(
      contentWith({ original_file_name: 'ü'.repeat(2049) }),
      '$.data.original_file_name',
      /at most 4096 bytes in UTF-8 \(has 4098\)/,
    );
    expect(parse(contentWith({ original_file_name: 'ü'.repeat(TEXT_FIELD_MAX_BYTES / 2) })).ok).toBe(true);
    expect(parse(contentWith({ original_file_name: 'essay\tdraft 2 – 字.docx' })).ok).toBe(true);
    expect(parse(contentWith({ original_file_name: '' })).ok).toBe(true);
  });

  it('accepts a validation failure with an empty raw file id (raw storage failed) but not one with a NUL', () => {
    const failure = clone(makeValidationFailure({ batchId: 'b1' }));
    Object.assign(data(failure), { raw_file_storage_id: '', validation_error_code: 'RAW_STORAGE_FAILED' });
    expect(parse(JSON.stringify(failure)).ok).toBe(true);
    Object.assign(data(failure), { raw_file_storage_id: '\u0000' });
    expectInvalidData(JSON.stringify(failure), '$.data.raw_file_storage_id', /control characters/);
  });

  it.each([
    ['expected_essay_count above 100,000', TOPICS.batchEssaysRegistered, { expected_essay_count: 100_001 }],
    ['file_size_bytes beyond a safe integer', TOPICS.essayContentProvisioned, { file_size_bytes: 2 ** 53 }],
    ['file_size_bytes of 1e300', TOPICS.essayContentProvisioned, { file_size_bytes: 1e300 }],
    ['a negative file_size_bytes', TOPICS.essayValidationFailed, { file_size_bytes: -1 }],
  ])('rejects %s', (_name, topic, fields) => {
    const base =
      topic === TOPICS.batchEssaysRegistered
        ? makeRegistration({ batchId: 'b1' })
        : topic === TOPICS.essayContentProvisioned
          ? makeContent({ batchId: 'b1' })
          : makeValidationFailure({ batchId: 'b1' });
    const event = clone(base);
    Object.assign(data(event), fields);
    const field = Object.keys(fields)[0] ?? '';
    expectInvalidData(JSON.stringify(event), `$.data.${field}`, /.+/);
  });

  it('rejects a registration of 100,001 essays and accepts one of 100,000', () => {
    const ids = Array.from({ length: 100_001 }, (_, i) => `e${i}`);
    const tooMany = parse(toWire(makeRegistration({ batchId: 'b1', essayIds: ids })).toString());
    expect(tooMany.ok).toBe(false);
    const most = parse(toWire(makeRegistration({ batchId: 'b1', essayIds: ids.slice(1) })).toString());
    expect(most.ok).toBe(true);
  });
});
