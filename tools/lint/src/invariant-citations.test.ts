import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Code, tests, mutants and docs cite the invariants by number ("invariant 6", "invariants 1–9") and the house
// rules by section ("CONTRIBUTING.md §3"); the numbers mean what docs/invariants.md and CONTRIBUTING.md say.
// A citation of a number the page does not define fails here.

const repoRoot = path.resolve(__dirname, '../../..');
const INVARIANTS_PAGE = 'docs/invariants.md';
const CITING_FILES = /\.(ts|mts|cts|js|mjs|cjs|md|ya?ml|json|patch|sh)$/;

/** Every invariant number a text cites, ranges ("1–9", "10-12") and lists ("4 and 5", "1, 2") included. */
export function citedInvariants(text: string): number[] {
  const cited: number[] = [];
  for (const match of text.matchAll(/\binvariants?\s+(\d+(?:\s*(?:,|and|or|–|-|to)\s*\d+)*)/gi)) {
    const list = match[1] ?? '';
    for (const part of list.split(/\s*(?:,|and|or)\s*/)) {
      const range = /^(\d+)\s*(?:–|-|to)\s*(\d+)$/.exec(part);
      if (range) cited.push(Number(range[1]), Number(range[2]));
      else if (/^\d+$/.test(part)) cited.push(Number(part));
    }
  }
  return cited;
}

/** Every house rule a text cites as `CONTRIBUTING.md §N`. */
export function citedRules(text: string): number[] {
  return [...text.matchAll(/CONTRIBUTING(?:\.md)?\s+§(\d+)/g)].map((match) => Number(match[1]));
}

/** The numbers a page defines, from its `### N. Title` headings. */
export function definedInvariants(page: string): Set<number> {
  return new Set([...page.matchAll(/^###\s+(\d+)\.\s+\S/gm)].map((match) => Number(match[1])));
}

/** The repository's tracked files that may cite an invariant or a house rule. */
function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => CITING_FILES.test(file) && fs.existsSync(path.join(repoRoot, file)));
}

describe('invariant and house-rule citations', () => {
  const page = fs.readFileSync(path.join(repoRoot, INVARIANTS_PAGE), 'utf8');
  const defined = definedInvariants(page);

  it('reads citations, lists and ranges, and the headings of the invariants page', () => {
    expect(
      citedInvariants('keeps invariant 6; see invariants 4 and 5, invariants 1–9, Invariant 12'),
    ).toEqual([6, 4, 5, 1, 9, 12]);
    expect(definedInvariants('## Safety\n\n### 1. One text\n\n### 12. Nothing grows\n#### 3. no')).toEqual(
      new Set([1, 12]),
    );
  });

  it('defines the invariants one to twelve, each once and in order', () => {
    const headings = [...page.matchAll(/^###\s+(\d+)\./gm)].map((match) => Number(match[1]));
    expect(headings).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('finds every invariant the repository cites defined on docs/invariants.md', () => {
    const files = trackedFiles().filter((file) => file !== INVARIANTS_PAGE);
    const undefinedCitations: string[] = [];
    let citations = 0;
    for (const file of files) {
      const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
      for (const number of citedInvariants(text)) {
        citations += 1;
        if (!defined.has(number)) undefinedCitations.push(`${file}: invariant ${number}`);
      }
    }
    expect(citations).toBeGreaterThan(50);
    expect(undefinedCitations).toEqual([]);
  });

  it('cites no section of a document outside the repository', () => {
    const outside = /\b(?:spec|conventions)\s+§\s*\d+/gi;
    const cited: string[] = [];
    for (const file of trackedFiles()) {
      if (file === 'tools/lint/src/invariant-citations.test.ts') continue;
      for (const match of fs.readFileSync(path.join(repoRoot, file), 'utf8').matchAll(outside)) {
        cited.push(`${file}: ${match[0]}`);
      }
    }
    expect(cited).toEqual([]);
  });

  it('finds every house rule the repository cites defined in CONTRIBUTING.md', () => {
    const rules = definedInvariants(fs.readFileSync(path.join(repoRoot, 'CONTRIBUTING.md'), 'utf8'));
    expect(citedRules('see CONTRIBUTING.md §3 and CONTRIBUTING §11')).toEqual([3, 11]);
    const cited: string[] = [];
    for (const file of trackedFiles()) {
      for (const rule of citedRules(fs.readFileSync(path.join(repoRoot, file), 'utf8'))) {
        if (!rules.has(rule)) cited.push(`${file}: CONTRIBUTING.md §${rule}`);
      }
    }
    expect(cited).toEqual([]);
  });
});
