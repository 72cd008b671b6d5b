import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { partitionForKey } from './key-partition';
import { createSeededRandom } from './seeded-random';

const kafkajsDefault = Partitioners.DefaultPartitioner();

/** What the kafkajs default partitioner picks for `key` among `count` partitions that all have a leader. */
function kafkajsPartition(key: string, count: number): number {
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return kafkajsDefault({ topic: 'key-partition-test', partitionMetadata, message: { key, value: null } });
}

describe('partitionForKey', () => {
  it('picks the partition of the kafkajs default partitioner for keys of every length and alphabet', () => {
    const random = createSeededRandom(7);
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

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
    expect(() => partitionForKey('k', 1.5)).toThrow(RangeError);
  });
});
