const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** A 4-byte little-endian word of `data` at `at`, as a 32-bit integer. */
const word = (data: Buffer, at: number) =>
  (data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16) | ((data[at + 3] ?? 0) << 24);

/**
 * Kafka's murmur2 (the hash of the Java client's and kafkajs's default partitioner) in 32-bit integer
 * arithmetic. kafkajs computes it with its 64-bit `Long` emulation, which cost the generator about a
 * quarter of its CPU when it placed every message itself. The contract: a key's events share a partition.
 */
export function murmur2(data: Buffer): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let at = 0; at < whole; at += 4) {
    let k = Math.imul(word(data, at), M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[whole + 1] ?? 0) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[whole] ?? 0), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  return h ^ (h >>> 15);
}

/**
 * The partition the kafkajs default (Java-compatible, murmur2) partitioner picks for a key. The generator
 * sets it explicitly on each message (so its sent log names the partition written) and the worker's
 * producer partitions with it.
 */
export function partitionForKey(key: string | Buffer, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
  }
  return (murmur2(typeof key === 'string' ? Buffer.from(key) : key) & 0x7fffffff) % partitionCount;
}
