import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SCENARIO_NAMES } from '../scenarios/run-settings';
import { MUTANTS, mutantsDir } from './mutant-catalogue';

/** Repository root, from this file's place in e2e/distributed/src/mutants. */
const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');

/** What the mutant build copies from the tree: a patch may only touch these. */
const PATCHABLE = /^(apps|libs)\//;
/** Scenarios short enough for the CI subset (6 is slow, 5 and 7 depend on injected faults). */
const FAST_SCENARIOS = new Set([1, 2, 3, 4, 8, 9]);
/**
 * Worker integration tests short enough for the CI subset: they fail within about a minute against their
 * mutant (slow-database.int.test.ts takes about 70 s even against the worker, so it is not one).
 */
const FAST_WORKER_TESTS = new Set(['worker-faults/dead-letter-refused.int.test.ts']);
/** Where the catalogue's integration test paths are relative to. */
const testsRoot = path.resolve(__dirname, '..');

const read = (patch: string) => fs.readFileSync(path.join(mutantsDir, patch), 'utf8');

/** The plain lines before the first `diff --git`, which `git apply` ignores. */
function headerOf(text: string): string[] {
  const start = text.indexOf('diff --git ');
  return (start < 0 ? text : text.slice(0, start)).split('\n').filter((line) => line.trim() !== '');
}

/** The `b/` paths of every file the patch changes. */
function pathsOf(text: string): string[] {
  return [...text.matchAll(/^diff --git a\/(\S+) b\/(\S+)$/gm)].map((match) => match[2] ?? '');
}

describe('mutant catalogue', () => {
  it('gives every mutant a unique id and its own patch file', () => {
    const ids = MUTANTS.map((mutant) => mutant.id);
    expect(new Set(ids).size).toBe(ids.length);
    const patches = MUTANTS.map((mutant) => mutant.patch);
    expect(new Set(patches).size).toBe(patches.length);
    for (const mutant of MUTANTS) {
      expect(mutant.patch).toBe(`${mutant.id}.patch`);
      expect(fs.existsSync(path.join(mutantsDir, mutant.patch))).toBe(true);
    }
  });

  it('leaves no patch in the mutants folder outside the catalogue', () => {
    const listed = new Set(MUTANTS.map((mutant) => mutant.patch));
    const files = fs.readdirSync(mutantsDir).filter((file) => file.endsWith('.patch'));
    expect(files.filter((file) => !listed.has(file))).toEqual([]);
  });

  it('names valid scenarios for every mutant, without repeats, or only worker integration tests', () => {
    for (const mutant of MUTANTS) {
      expect(mutant.scenarios.length + (mutant.integrationTests?.length ?? 0)).toBeGreaterThan(0);
      expect(new Set(mutant.scenarios).size).toBe(mutant.scenarios.length);
      for (const scenario of mutant.scenarios) expect(SCENARIO_NAMES[scenario]).toBeDefined();
    }
  });

  it('names existing worker integration test files of the integration config, without repeats', () => {
    for (const mutant of MUTANTS) {
      const tests = mutant.integrationTests ?? [];
      expect(new Set(tests).size).toBe(tests.length);
      for (const test of tests) {
        expect({ test, file: /^[\w/.-]+\.int\.test\.ts$/.test(test) && !test.startsWith('..') }).toEqual({
          test,
          file: true,
        });
        expect({ test, exists: fs.existsSync(path.join(testsRoot, test)) }).toEqual({ test, exists: true });
      }
    }
  });

  it('puts exactly four mutants in the CI subset, each caught first by a fast scenario or worker test', () => {
    const ci = MUTANTS.filter((mutant) => mutant.ci);
    expect(ci).toHaveLength(4);
    for (const mutant of ci) {
      // The runner tries a mutant's worker tests before its scenarios: the first of them runs first.
      const [firstTest] = mutant.integrationTests ?? [];
      if (firstTest !== undefined)
        expect({ firstTest, fast: FAST_WORKER_TESTS.has(firstTest) }).toEqual({ firstTest, fast: true });
      else expect(FAST_SCENARIOS.has(mutant.scenarios[0] ?? 0)).toBe(true);
    }
  });

  it.each(MUTANTS.map((mutant) => [mutant.id, mutant] as const))(
    '%s: the patch header names its id and invariant and says what the defect is',
    (id, mutant) => {
      const header = headerOf(read(mutant.patch));
      expect(header[0]).toBe(`Mutant: ${id}`);
      expect(header[1]).toBe(`Breaks: ${mutant.invariant}`);
      expect(mutant.invariant).toMatch(/^(invariant \d+|contract|metrics|threshold) \(.+\)$/);
      expect(header.length).toBeGreaterThanOrEqual(3);
      expect(header.length).toBeLessThanOrEqual(4);
    },
  );

  it.each(MUTANTS.map((mutant) => [mutant.id, mutant] as const))(
    '%s: the patch changes only the sources the mutant build copies',
    (_id, mutant) => {
      const paths = pathsOf(read(mutant.patch));
      expect(paths.length).toBeGreaterThan(0);
      expect(paths.filter((file) => !PATCHABLE.test(file))).toEqual([]);
    },
  );

  // `git apply --check` only checks: it changes nothing in the working tree or the index.
  it.each(MUTANTS.map((mutant) => [mutant.id, mutant] as const))(
    '%s: the patch applies cleanly to the current tree',
    (_id, mutant) => {
      const result = spawnSync(
        'git',
        ['apply', '--check', '--whitespace=nowarn', path.join(mutantsDir, mutant.patch)],
        { cwd: repoRoot, encoding: 'utf8' },
      );
      expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    },
  );
});
