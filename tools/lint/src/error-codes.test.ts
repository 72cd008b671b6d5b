import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CATALOGUE, ERROR_CODES } from '@els/coordination';
import { CONTRACT_ERROR_CODES } from '@els/contracts';

// Every error code is written down once, in the catalogue (libs/coordination/src/error-catalogue.ts), which
// docs/reference/errors.md shows. Code, tests, mutants and docs name codes as `ELS_ERR_…` strings too; a
// string the catalogue does not define fails here, and so does a catalogued code nothing emits any more.

const repoRoot = path.resolve(__dirname, '../../..');
const NAMING_FILES = /\.(ts|mts|cts|js|mjs|cjs|md|ya?ml|json|patch|sh)$/;
/** The release history may name a code that was since retired. */
const HISTORY = new Set(['CHANGELOG.md']);
/** Where the codes are declared: naming a code there does not emit it. */
const DECLARATIONS = new Set([
  'libs/coordination/src/error-catalogue.ts',
  'libs/contracts/src/contract-error.ts',
]);
const TEST_FILE = /(\.test\.ts|\/testing\.ts|\/testing\/.*\.ts)$/;

/**
 * The codes a text names: `ELS_ERR_` and capitals, digits or underscores; a name ending in `_*` stands for
 * every code it starts (`ELS_ERR_CONTRACT_*`).
 */
export function namedCodes(text: string): Array<{ name: string; prefix: boolean }> {
  return [...text.matchAll(/\bELS_ERR_[A-Z0-9_]+(\*)?/g)].map((match) => ({
    name: match[1] ? match[0].slice(0, -1) : match[0],
    prefix: match[1] !== undefined,
  }));
}

/** Whether a name the text used is a code of the catalogue, or a prefix of at least one. */
export function isCatalogued(named: { name: string; prefix: boolean }, codes: readonly string[]): boolean {
  return named.prefix ? codes.some((code) => code.startsWith(named.name)) : codes.includes(named.name);
}

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((file) => NAMING_FILES.test(file) && fs.existsSync(path.join(repoRoot, file)));
}

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), 'utf8');

describe('error codes', () => {
  const codes = Object.keys(ERROR_CATALOGUE);

  it('reads plain names and prefixes, and tells catalogued names from others', () => {
    expect(
      namedCodes('`ELS_ERR_INTERNAL`, ELS_ERR_CONTRACT_* and ELS_ERR_NOPE; not ELS_ERR_... or ELS_ERR_[A-Z]'),
    ).toEqual([
      { name: 'ELS_ERR_INTERNAL', prefix: false },
      { name: 'ELS_ERR_CONTRACT_', prefix: true },
      { name: 'ELS_ERR_NOPE', prefix: false },
    ]);
    expect(isCatalogued({ name: 'ELS_ERR_INTERNAL', prefix: false }, codes)).toBe(true);
    expect(isCatalogued({ name: 'ELS_ERR_CONTRACT_', prefix: true }, codes)).toBe(true);
    expect(isCatalogued({ name: 'ELS_ERR_CONTRACT', prefix: false }, codes)).toBe(false);
    expect(isCatalogued({ name: 'ELS_ERR_NOPE_', prefix: true }, codes)).toBe(false);
  });

  it('finds every code a tracked file names in the catalogue', () => {
    const uncatalogued: string[] = [];
    let named = 0;
    for (const file of trackedFiles()) {
      if (HISTORY.has(file) || file === 'tools/lint/src/error-codes.test.ts') continue;
      for (const code of namedCodes(read(file))) {
        named += 1;
        if (!isCatalogued(code, codes)) uncatalogued.push(`${file}: ${code.name}${code.prefix ? '*' : ''}`);
      }
    }
    expect(named).toBeGreaterThan(100);
    expect(uncatalogued).toEqual([]);
  });

  it('finds every catalogued code emitted by the code of a project, not only declared', () => {
    const sources = trackedFiles()
      .filter(
        (file) => /^(apps|libs)\/.*\.ts$/.test(file) && !TEST_FILE.test(file) && !DECLARATIONS.has(file),
      )
      .map(read);
    const contractKeys = new Map<string, string>(
      Object.entries(CONTRACT_ERROR_CODES).map(([key, code]) => [code, key]),
    );
    const unemitted = Object.entries(ERROR_CODES)
      .filter(([key, code]) => {
        const names = [`'${code}'`, `ERROR_CODES.${key}`];
        const contractKey = contractKeys.get(code);
        if (contractKey) names.push(`CONTRACT_ERROR_CODES.${contractKey}`);
        return !sources.some((text) => names.some((name) => text.includes(name)));
      })
      .map(([, code]) => code);
    expect(sources.length).toBeGreaterThan(50);
    expect(unemitted).toEqual([]);
  });
});
