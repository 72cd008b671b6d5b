import { startOffset } from './replay-plan';

describe('where a partition replay starts', () => {
  it('at the committed cursor when there is one within the retained letters', () => {
    expect(startOffset(7n, 0n, 10n, false)).toBe(7n);
    expect(startOffset(10n, 0n, 10n, false)).toBe(10n);
  });

  it('at the earliest retained letter without a cursor, or with --from-beginning', () => {
    expect(startOffset(undefined, 3n, 10n, false)).toBe(3n);
    expect(startOffset(7n, 3n, 10n, true)).toBe(3n);
  });

  it('at the earliest retained letter when retention deleted letters below the cursor', () => {
    expect(startOffset(2n, 5n, 10n, false)).toBe(5n);
  });

  it('never past the snapshot end, so a cursor of a recreated topic reads nothing rather than everything', () => {
    expect(startOffset(25n, 0n, 10n, false)).toBe(10n);
  });
});
