import { uuidSchema } from '@els/contracts';
import { createSeededRandom } from './seeded-random';

describe('seeded random', () => {
  it('repeats the same sequence for the same seed', () => {
    const a = createSeededRandom(42);
    const b = createSeededRandom(42);
    const c = createSeededRandom(43);
    const draw = (r: typeof a) => Array.from({ length: 5 }, () => r.next());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it('draws integers in range and spreads them', () => {
    const random = createSeededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i += 1) {
      const value = random.int(10);
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(10);
      seen.add(value);
    }
    expect(seen.size).toBe(10);
  });

  it('makes version-4 shaped UUIDs the contract accepts', () => {
    const random = createSeededRandom(7);
    const ids = Array.from({ length: 50 }, () => random.uuid());
    for (const id of ids) {
      expect(uuidSchema.safeParse(id).success).toBe(true);
      expect(id[14]).toBe('4');
    }
    expect(new Set(ids).size).toBe(50);
  });

  it('forks sources that depend only on the seed and the label', () => {
    const used = createSeededRandom(5);
    used.next();
    used.next();
    expect(used.fork('wave/1').next()).toBe(createSeededRandom(5).fork('wave/1').next());
    expect(createSeededRandom(5).fork('wave/2').next()).not.toBe(createSeededRandom(5).fork('wave/1').next());
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = createSeededRandom(3).shuffle([...items]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });
  it('draws the same UUIDs for the same seed as every earlier version (a seed replays a workload)', () => {
    const random = createSeededRandom(42);
    expect([random.uuid(), random.uuid()]).toEqual([
      '9972daab-2c86-459f-9d78-3fe1be4e3280',
      'af9c0078-d60d-4708-840f-2fc887062cd7',
    ]);
  });
});
