import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { partitionForKey } from '@els/contracts';
import { keyPartitioner } from './event-producer';

const kafkajsDefault = Partitioners.DefaultPartitioner();

/** What the kafkajs default partitioner picks for `key` among `count` partitions that all have a leader. */
function kafkajsPartition(key: string | Buffer, count: number): number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return kafkajsDefault({ topic: 'key-partition-test', partitionMetadata, message: { key, value: null } });
}

describe("the contracts' partitionForKey against kafkajs's default partitioner", () => {
  it('picks the partition of the kafkajs default partitioner for keys of every length and alphabet', () => {
    // A fixed linear congruential sequence, so the keys are the same on every run.
    let state = 7;
    const random = {
      int: (max: number) => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state % max;
      },
    };
    const alphabet = [...'abcXYZ019-_ äöü€漢字😀'];
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', '7b1f0f1c-4d0a-4c55-9e5e-1f0b8f7c2a10'];
    for (let i = 0; i < 2000; i += 1) {
      const length = random.int(60);
      let key = '';
      for (let c = 0; c < length; c += 1) key += alphabet[random.int(alphabet.length)] ?? '';
      keys.push(key);
    }
    for (const count of [1, 3, 12, 100]) {
      for (const key of keys) expect(partitionForKey(key, count)).toBe(kafkajsPartition(key, count));
    }
  });

  it('hashes a Buffer key by its bytes, as kafkajs does', () => {
    for (let length = 0; length < 40; length += 1) {
      const key = Buffer.from(Array.from({ length }, (_, i) => (i * 37 + length * 11) % 256));
      for (const count of [1, 12, 100]) {
        expect(partitionForKey(key, count)).toBe(kafkajsPartition(key, count));
      }
    }
  });

  it("is the producer's partitioner for keyed records, and leaves explicit partitions and keyless records to kafkajs", () => {
    const place = keyPartitioner();
    const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    const at = (message: { key?: string | null; partition?: number; value: null }) =>
      place({ topic: 'key-partitioner-test', partitionMetadata, message });
    expect(at({ key: 'batch-1', value: null })).toBe(kafkajsPartition('batch-1', 12));
    expect(at({ key: 'batch-1', partition: 5, value: null })).toBe(5);
    const keyless = at({ key: null, value: null });
    expect(keyless).toBeGreaterThanOrEqual(0);
    expect(keyless).toBeLessThan(12);
  });
});
