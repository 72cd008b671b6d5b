import type { DeadLetterRecord } from './dead-letter-selection';
import {
  CHUNK_MAX_BYTES,
  CHUNK_MAX_LETTERS,
  replayRecord,
  startsNewChunk,
  topicMessagesOf,
} from './replay-records';

const SOURCE = 'p.huleedu.file.essay.content.provisioned.v1';
const DLQ = 'p.huleedu.els.dead.letter.v1';

function letter(overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return {
    partition: 2,
    offset: '17',
    timestampMs: 0,
    key: Buffer.from([0x00, 0x01]),
    value: Buffer.from([0xff, 0xfe, 0xfd]),
    sourceTopic: SOURCE,
    sourcePartition: 9,
    ...overrides,
  };
}

describe('the record a replay produces', () => {
  it('carries the letter key and value buffers untouched, to its source partition, with the replay header', () => {
    const source = letter();
    const record = replayRecord(source, SOURCE, DLQ, new Map([[SOURCE, 12]]));
    expect(record.topic).toBe(SOURCE);
    expect(record.message.key).toBe(source.key);
    expect(record.message.value).toBe(source.value);
    expect(record.message.partition).toBe(9);
    expect(record.message.headers).toEqual({ 'x-els-replay-of': `${DLQ}/2/17` });
    expect(record.bytes).toBe(2 + 3 + 'x-els-replay-of'.length + `${DLQ}/2/17`.length);
  });

  it('leaves the partition to the key partitioner when the topic no longer has the source partition', () => {
    expect(
      replayRecord(letter({ sourcePartition: 12 }), SOURCE, DLQ, new Map([[SOURCE, 12]])).message,
    ).not.toHaveProperty('partition');
    expect(
      replayRecord(letter({ sourcePartition: undefined }), SOURCE, DLQ, new Map([[SOURCE, 12]])).message,
    ).not.toHaveProperty('partition');
  });
});

describe('produce requests of a replay', () => {
  const record = (bytes: number) => ({ topic: SOURCE, message: { value: null }, bytes });

  it('a request ends before it would pass its byte or letter limit, and a larger letter goes alone', () => {
    expect(startsNewChunk([], 0, record(CHUNK_MAX_BYTES * 4))).toBe(false);
    expect(startsNewChunk([record(10)], 10, record(CHUNK_MAX_BYTES - 10))).toBe(false);
    expect(startsNewChunk([record(10)], 10, record(CHUNK_MAX_BYTES - 9))).toBe(true);
    const full = Array.from({ length: CHUNK_MAX_LETTERS }, () => record(1));
    expect(startsNewChunk(full, CHUNK_MAX_LETTERS, record(1))).toBe(true);
  });

  it('records are grouped by topic in the order given', () => {
    const a = { topic: 'a', message: { value: Buffer.from('1') }, bytes: 1 };
    const b = { topic: 'b', message: { value: Buffer.from('2') }, bytes: 1 };
    const a2 = { topic: 'a', message: { value: Buffer.from('3') }, bytes: 1 };
    expect(topicMessagesOf([a, b, a2])).toEqual([
      { topic: 'a', messages: [a.message, a2.message] },
      { topic: 'b', messages: [b.message] },
    ]);
  });
});
