/**
 * A small seeded pseudo-random source (mulberry32) so that a workload plan is the same for the same seed.
 * Not cryptographic: it only has to be fast, well spread and reproducible.
 */
export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A random UUID in version-4 shape, drawn from this source. */
  uuid(): string;
  /** Shuffles the array in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** An independent source that depends only on this source's seed and the label (not on draws made). */
  fork(label: string | number): SeededRandom;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a string, to turn labels into 32-bit seeds. */
function hashLabel(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i += 1) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Two hex digits of every byte value. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export function createSeededRandom(seed: number): SeededRandom {
  const next = mulberry32(seed);
  const int = (maxExclusive: number) => Math.floor(next() * maxExclusive);
  return {
    next,
    int,
    uuid() {
      // Sixteen draws of a byte; the version and variant bits are set in bytes 6 and 8.
      let text = '';
      for (let i = 0; i < 16; i += 1) {
        const byte = int(256);
        text += HEX[i === 6 ? (byte & 0x0f) | 0x40 : i === 8 ? (byte & 0x3f) | 0x80 : byte];
        if (i === 3 || i === 5 || i === 7 || i === 9) text += '-';
      }
      return text;
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i -= 1) {
        const j = int(i + 1);
        const swap = items[i] as T;
        items[i] = items[j] as T;
        items[j] = swap;
      }
      return items;
    },
    fork(label) {
      return createSeededRandom(hashLabel(`${seed}:${label}`));
    },
  };
}
