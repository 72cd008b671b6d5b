import { TOPICS } from '@els/contracts';
import { DEAD_LETTER_HEADERS, REFERENCE_LETTER_HEADERS, REPLAY_OF_HEADER } from '../kafka/event-producer';
import {
  cursorGroupId,
  decideLetter,
  readDeadLetter,
  resolveReplayFilters,
  type DeadLetterRecord,
  type ReplayFilters,
} from './dead-letter-selection';
import type { ReplayArguments } from './replay-args';
import { emptySkipCounts, formatLetterLine, formatProgressLine, formatSummaryLine } from './replay-report';

const PREFIX = 'prod.';
const CONTENT = `${PREFIX}${TOPICS.essayContentProvisioned}`;
const REGISTERED = `${PREFIX}${TOPICS.batchEssaysRegistered}`;
const NOON = Date.UTC(2025, 2, 1, 12);

const noArguments: ReplayArguments = {
  codes: [],
  sourceTopics: [],
  includeReplayed: false,
  fromBeginning: false,
  dryRun: false,
};

function filtersOf(overrides: Partial<ReplayArguments>, prefix = PREFIX): ReplayFilters {
  const result = resolveReplayFilters({ ...noArguments, ...overrides }, prefix);
  if (result.kind !== 'filters') throw new Error(result.message);
  return result.filters;
}

function letter(overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return {
    partition: 3,
    offset: '41',
    timestampMs: NOON,
    key: Buffer.from('batch-1'),
    value: Buffer.from('{}'),
    sourceTopic: CONTENT,
    sourcePartition: 5,
    sourceOffset: '1200',
    code: 'ELS_ERR_INTERNAL',
    eventId: '0d9c7c2e-5b1a-4f7e-9a43-3f2b8a1c0e11',
    ...overrides,
  };
}

describe('replay filters', () => {
  it('source topics may be given by base or full name and resolve to the full name under the prefix', () => {
    const filters = filtersOf({ sourceTopics: [TOPICS.essayContentProvisioned, REGISTERED, CONTENT] });
    expect(filters.sourceTopics).toEqual([REGISTERED, CONTENT].sort());
  });

  it('a source topic that is not one of the deployment input topics is a bad argument', () => {
    for (const given of [
      TOPICS.essaySlotAssigned,
      TOPICS.deadLetter,
      `other.${TOPICS.batchEssaysRegistered}`,
    ]) {
      const result = resolveReplayFilters({ ...noArguments, sourceTopics: [given] }, PREFIX);
      expect(result).toMatchObject({ kind: 'error', argument: '--source-topic' });
    }
  });

  it('the same filters in any order or spelling share a cursor group, and any difference gets its own', () => {
    const a = filtersOf({
      codes: ['ELS_ERR_INTERNAL', 'ELS_ERR_DATABASE_REJECTED'],
      sourceTopics: [CONTENT],
    });
    const b = filtersOf({
      codes: ['ELS_ERR_DATABASE_REJECTED', 'ELS_ERR_INTERNAL', 'ELS_ERR_INTERNAL'],
      sourceTopics: [TOPICS.essayContentProvisioned],
    });
    expect(cursorGroupId(a)).toBe(cursorGroupId(b));
    expect(cursorGroupId(a)).toMatch(/^els-dead-letter-replay-[0-9a-f]{16}$/);
    const variants = [
      filtersOf({ codes: ['ELS_ERR_INTERNAL'], sourceTopics: [CONTENT] }),
      filtersOf({ ...a, includeReplayed: true }),
      filtersOf({ ...a, sinceMs: NOON }),
      filtersOf({ ...a, untilMs: NOON }),
      filtersOf({ codes: a.codes, sourceTopics: [TOPICS.essayContentProvisioned] }, 'staging.'),
    ];
    for (const variant of variants) expect(cursorGroupId(variant)).not.toBe(cursorGroupId(a));
  });
});

describe('which letters a replay takes', () => {
  it('no filter takes every letter from an input topic of the deployment', () => {
    expect(decideLetter(letter(), filtersOf({}))).toEqual({ action: 'replay', sourceTopic: CONTENT });
    expect(decideLetter(letter({ code: undefined, eventId: undefined }), filtersOf({}))).toEqual({
      action: 'replay',
      sourceTopic: CONTENT,
    });
  });

  it('the code filter takes only the listed codes, and a letter without a code is not among them', () => {
    const filters = filtersOf({ codes: ['ELS_ERR_INTERNAL', 'ELS_ERR_DATABASE_REJECTED'] });
    expect(decideLetter(letter({ code: 'ELS_ERR_DATABASE_REJECTED' }), filters).action).toBe('replay');
    expect(decideLetter(letter({ code: 'ELS_ERR_CONTRACT_NOT_JSON' }), filters)).toEqual({
      action: 'skip',
      reason: 'code',
    });
    expect(decideLetter(letter({ code: undefined }), filters)).toEqual({ action: 'skip', reason: 'code' });
  });

  it('the source-topic filter compares full names', () => {
    const filters = filtersOf({ sourceTopics: [TOPICS.batchEssaysRegistered] });
    expect(decideLetter(letter({ sourceTopic: REGISTERED }), filters).action).toBe('replay');
    expect(decideLetter(letter(), filters)).toEqual({ action: 'skip', reason: 'sourceTopic' });
  });

  it('the time range includes --since and excludes --until', () => {
    const filters = filtersOf({ sinceMs: NOON, untilMs: NOON + 60_000 });
    expect(decideLetter(letter({ timestampMs: NOON }), filters).action).toBe('replay');
    expect(decideLetter(letter({ timestampMs: NOON + 59_999 }), filters).action).toBe('replay');
    expect(decideLetter(letter({ timestampMs: NOON - 1 }), filters)).toEqual({
      action: 'skip',
      reason: 'timeRange',
    });
    expect(decideLetter(letter({ timestampMs: NOON + 60_000 }), filters)).toEqual({
      action: 'skip',
      reason: 'timeRange',
    });
    expect(decideLetter(letter({ timestampMs: Number.NaN }), filters).action).toBe('skip');
  });

  it('a selected letter whose source topic is not an input topic of this deployment is refused', () => {
    const filters = filtersOf({});
    for (const sourceTopic of [
      `${PREFIX}${TOPICS.essaySlotAssigned}`,
      `${PREFIX}${TOPICS.deadLetter}`,
      TOPICS.essayContentProvisioned,
      `staging.${TOPICS.essayContentProvisioned}`,
      undefined,
    ]) {
      expect(decideLetter(letter({ sourceTopic }), filters)).toEqual({
        action: 'skip',
        reason: 'refusedSourceTopic',
      });
    }
  });

  it('a reference letter is held back whatever the options, since it carries no value to replay', () => {
    const reference = letter({ value: null, valueSha256: 'ab'.repeat(32) });
    expect(decideLetter(reference, filtersOf({ includeReplayed: true }))).toEqual({
      action: 'skip',
      reason: 'referenceLetter',
    });
  });

  it('a letter that failed again after a replay is held back unless replayed letters are included', () => {
    const again = letter({ replayOf: `${PREFIX}${TOPICS.deadLetter}/3/7` });
    expect(decideLetter(again, filtersOf({}))).toEqual({ action: 'skip', reason: 'failedAgainAfterReplay' });
    expect(decideLetter(again, filtersOf({ includeReplayed: true }))).toEqual({
      action: 'replay',
      sourceTopic: CONTENT,
    });
  });
});

describe('reading a dead letter', () => {
  it('takes source, code, event id and replay-of from the headers and keeps the bytes as they are', () => {
    const key = Buffer.from([0x00, 0xff]);
    const value = Buffer.from([0xfe, 0x01, 0x00]);
    const read = readDeadLetter(2, {
      offset: '10',
      timestamp: String(NOON),
      key,
      value,
      headers: {
        [DEAD_LETTER_HEADERS.sourceTopic]: Buffer.from(CONTENT),
        [DEAD_LETTER_HEADERS.sourcePartition]: Buffer.from('4'),
        [DEAD_LETTER_HEADERS.sourceOffset]: Buffer.from('99'),
        [DEAD_LETTER_HEADERS.errorCode]: 'ELS_ERR_INTERNAL',
        [REPLAY_OF_HEADER]: Buffer.from(`${PREFIX}${TOPICS.deadLetter}/1/5`),
        [REFERENCE_LETTER_HEADERS.valueSha256]: Buffer.from('ab'.repeat(32)),
      },
    });
    expect(read).toEqual({
      partition: 2,
      offset: '10',
      timestampMs: NOON,
      key,
      value,
      sourceTopic: CONTENT,
      sourcePartition: 4,
      sourceOffset: '99',
      code: 'ELS_ERR_INTERNAL',
      replayOf: `${PREFIX}${TOPICS.deadLetter}/1/5`,
      valueSha256: 'ab'.repeat(32),
    });
  });

  it('leaves out malformed or repeated headers instead of guessing', () => {
    const read = readDeadLetter(0, {
      offset: '0',
      timestamp: String(NOON),
      key: null,
      value: null,
      headers: {
        [DEAD_LETTER_HEADERS.sourceTopic]: [Buffer.from(CONTENT), Buffer.from(REGISTERED)],
        [DEAD_LETTER_HEADERS.sourcePartition]: Buffer.from('-1'),
        [DEAD_LETTER_HEADERS.sourceOffset]: Buffer.from('12a'),
        [REPLAY_OF_HEADER]: Buffer.from('not a coordinate'),
      },
    });
    expect(read).toEqual({ partition: 0, offset: '0', timestampMs: NOON, key: null, value: null });
  });
});

describe('what the command prints', () => {
  it('one tab-separated line per listed letter, with - for what a letter does not say', () => {
    const dlq = `${PREFIX}${TOPICS.deadLetter}`;
    expect(formatLetterLine({ action: 'would-replay', letter: letter() }, dlq)).toBe(
      `would-replay\t${CONTENT}/5/1200\tELS_ERR_INTERNAL\t0d9c7c2e-5b1a-4f7e-9a43-3f2b8a1c0e11\t${dlq}/3/41`,
    );
    const odd = letter({ sourceTopic: 'x\ny', eventId: undefined, replayOf: `${dlq}/0/1` });
    expect(formatLetterLine({ action: 'failed-again-after-replay', letter: odd }, dlq)).toBe(
      `failed-again-after-replay\tx?y/5/1200\tELS_ERR_INTERNAL\t-\t${dlq}/3/41\treplay-of=${dlq}/0/1`,
    );
  });

  it('the progress line names the counts and only the skip reasons that occurred', () => {
    const line = formatProgressLine(
      {
        phase: 'reading',
        partitions: 12,
        partitionsDone: 4,
        toRead: 100,
        read: 40,
        selected: 10,
        replayed: 8,
        skipped: {
          code: 30,
          sourceTopic: 0,
          timeRange: 0,
          refusedSourceTopic: 0,
          referenceLetter: 0,
          failedAgainAfterReplay: 2,
        },
      },
      false,
    );
    expect(line).toBe(
      'replay-dead-letters: reading, read 40/100, partitions 4/12, selected 10, replayed 8, skipped code=30 failedAgainAfterReplay=2',
    );
  });

  it('the summary line is one JSON object with the outcome and counts first and the filters as ISO times', () => {
    const filters = filtersOf({ codes: ['ELS_ERR_INTERNAL'], sinceMs: NOON });
    const context = {
      dryRun: false,
      fromBeginning: false,
      deadLetterTopic: `${PREFIX}${TOPICS.deadLetter}`,
      cursorGroup: cursorGroupId(filters),
      filters,
    };
    const counts = { partitions: 12, partitionsDone: 3, toRead: 9, read: 4, selected: 2, replayed: 1 };
    const line = formatSummaryLine(
      {
        ok: false,
        reason: 'stalled',
        error: 'no letter arrived',
        progress: { phase: 'failed', ...counts, skipped: emptySkipCounts() },
      },
      context,
    );
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(Object.keys(parsed).slice(0, 6)).toEqual(['ok', 'reason', 'error', 'dryRun', 'read', 'selected']);
    expect(parsed).toMatchObject({
      ok: false,
      reason: 'stalled',
      ...counts,
      cursorGroup: context.cursorGroup,
      filters: { codes: ['ELS_ERR_INTERNAL'], since: '2025-03-01T12:00:00.000Z', until: null },
    });
  });
});
