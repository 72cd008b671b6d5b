import {
  buildBatchContentProvisioningCompleted,
  COMPLETION_EVENT_MAX_BYTES,
  completionEventMaxBytes,
  ID_MAX_BYTES,
  TRACESTATE_MAX_LENGTH,
} from './index';
import { jsonbText } from './testing';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function registrationOf(essayIds: string[], batchId = 'b'.repeat(ID_MAX_BYTES)) {
  return {
    entity_id: batchId,
    essay_ids: essayIds,
    expected_essay_count: essayIds.length,
    user_id: 'u'.repeat(ID_MAX_BYTES),
    course_code: 'ENG5' as const,
  };
}

/**
 * The real completion of the registration with every slot holding a worst-case text id, carrying the
 * longest trace context whose every tracestate character is escaped.
 */
function worstCompletion(registration: ReturnType<typeof registrationOf>, textId: (i: number) => string) {
  return buildBatchContentProvisioningCompleted({
    batchId: registration.entity_id,
    expectedCount: registration.expected_essay_count,
    courseCode: registration.course_code,
    userId: registration.user_id,
    essaysForProcessing: registration.essay_ids.map((essayId, i) => ({
      essay_id: essayId,
      text_storage_id: textId(i),
    })),
    correlationId: '3f1d7a52-4f7e-4c1a-9d55-2b7f0f6f9a10',
    traceContext: {
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: '\\'.repeat(TRACESTATE_MAX_LENGTH),
    },
    at: new Date('2026-01-02T03:04:05.678Z'),
  }).envelope;
}

describe('completionEventMaxBytes', () => {
  it.each([
    ['quotes (each escaped to two bytes)', () => '"'.repeat(ID_MAX_BYTES)],
    ['backslashes (each escaped to two bytes)', () => '\\'.repeat(ID_MAX_BYTES)],
    ['CJK characters', () => '字'.repeat(Math.floor(ID_MAX_BYTES / 3))],
  ])('is at least the size of the real completion whose text ids are 512 bytes of %s', (_name, textId) => {
    const essayIds = Array.from({ length: 500 }, (_, i) => `essay-"${i}"-${'\\'.repeat(i % 7)}字`);
    const registration = registrationOf(essayIds);
    const completion = worstCompletion(registration, textId);
    const bound = completionEventMaxBytes(registration);
    expect(bound).toBeGreaterThanOrEqual(bytes(JSON.stringify(completion)));
    expect(bound).toBeGreaterThanOrEqual(bytes(jsonbText(completion)));
  });

  it('stays within a few bytes per essay of the true worst case', () => {
    const registration = registrationOf(Array.from({ length: 1000 }, (_, i) => `essay-${i}`));
    const worst = bytes(jsonbText(worstCompletion(registration, () => '"'.repeat(ID_MAX_BYTES))));
    const bound = completionEventMaxBytes(registration);
    expect(bound - worst).toBeLessThan(100);
  });

  it('is at least the size of a one-essay completion with the longest counts and ids', () => {
    const registration = registrationOf(['"'.repeat(ID_MAX_BYTES)], '"'.repeat(ID_MAX_BYTES));
    const completion = worstCompletion(registration, () => '"'.repeat(ID_MAX_BYTES));
    expect(completionEventMaxBytes(registration)).toBeGreaterThanOrEqual(bytes(jsonbText(completion)));
  });

  it('lets about 15,000 essays with UUID ids fit in the 16 MiB completion limit', () => {
    const uuid = '3f1d7a52-4f7e-4c1a-9d55-2b7f0f6f9a10';
    const fits = (n: number) =>
      completionEventMaxBytes(
        registrationOf(
          Array.from({ length: n }, () => uuid),
          uuid,
        ),
      ) <= COMPLETION_EVENT_MAX_BYTES;
    let low = 1;
    let high = 100_000;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (fits(mid)) low = mid;
      else high = mid - 1;
    }
    expect(low).toBe(15_236);
  });
});
