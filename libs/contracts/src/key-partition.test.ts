import { partitionForKey } from './key-partition';

describe('partitionForKey', () => {
  // The partitions the Java client and kafkajs's default partitioner pick for these keys (murmur2); the
  // worker's tests compare the two over thousands of keys.
  it.each([
    ['', 9, 81],
    ['a', 4, 24],
    ['abcd', 8, 0],
    ['batch-1', 2, 94],
    ['7b1f0f1c-4d0a-4c55-9e5e-1f0b8f7c2a10', 10, 74],
    ['äöü€漢字😀', 1, 53],
  ])('maps %j to partition %i of 12 and %i of 100', (key, of12, of100) => {
    expect(partitionForKey(key, 12)).toBe(of12);
    expect(partitionForKey(key, 100)).toBe(of100);
    expect(partitionForKey(Buffer.from(key), 12)).toBe(of12);
  });

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError);
    expect(() => partitionForKey('k', 1.5)).toThrow(RangeError);
  });
});
