import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunReport, ScenarioReport } from '../report/run-report';
import type { Mutant } from './mutant-catalogue';
import { patchedFiles } from './mutant-build';
import { mutantsTableHtml, runLabel, survivedRuns, type MutantResult } from '../report/mutants-report';
import {
  attemptsFor,
  caughtByOf,
  caughtChecks,
  firstJestError,
  integrationChecks,
  integrationTestPath,
  judgedIntegrationRun,
  judgedMutant,
  mutantStatus,
  selectMutants,
  type JestJsonResults,
} from './run-mutants';

const mutant = (id: string, ci: boolean): Mutant => ({
  id,
  patch: `${id}.patch`,
  invariant: 'invariant 1',
  defect: id,
  scenarios: [1],
  ci,
});
const ENTRY = '/tmp/els-mutant-a/dist/apps/els-worker/main.js';
const catalogue = [mutant('a', true), mutant('b', false), mutant('c', true)];

function reportWith(scenario: Partial<ScenarioReport> & { id: number; passed: boolean }): RunReport {
  return {
    startedAt: '',
    durationMs: 0,
    instances: 3,
    profile: 'ci',
    workerEntry: ENTRY,
    scenarios: [
      {
        name: 'race',
        pids: [],
        sent: 0,
        assigned: 0,
        excess: 0,
        deadLetters: 0,
        lost: [],
        duplicated: [],
        unexpected: [],
        completionsPerBatch: {},
        throughputPerSec: 0,
        latencyMs: { p50: 0, p95: 0, p99: 0, max: 0 },
        notes: [],
        ...scenario,
      },
    ],
  };
}

describe('mutation self-test runner', () => {
  it('reads the first failure message of a jest run', () => {
    const output =
      'PASS a\n  \u001b[1m● suite › scenario 5\u001b[22m\n\n    s5-r1 exited; see log\n    at x\n  ● other\n\n    later';
    expect(firstJestError(output)).toBe('s5-r1 exited; see log');
    expect(firstJestError('PASS everything')).toBeUndefined();
  });

  it('selects the whole catalogue, the CI subset, or named mutants, and names an unknown one', () => {
    expect(selectMutants([], catalogue).mutants.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(selectMutants(['--ci'], catalogue)).toMatchObject({ ciOnly: true });
    expect(selectMutants(['--ci'], catalogue).mutants.map((m) => m.id)).toEqual(['a', 'c']);
    expect(selectMutants(['--only=c,b'], catalogue).mutants.map((m) => m.id)).toEqual(['b', 'c']);
    expect(() => selectMutants(['--only=z'], catalogue)).toThrow(/unknown mutant z/);
  });

  it('names the failing checks of the scenario that caught a mutant', () => {
    const report = reportWith({
      id: 1,
      passed: false,
      problems: { duplicated: ['b/t held by 2 slots'], lost: ['x'] },
    });
    expect(caughtChecks({ entry: ENTRY, scenario: 1, exitCode: 1, timedOut: false, report })).toEqual([
      'duplicated',
      'lost',
    ]);
  });

  it('takes no verdict from a run whose replicas ran another build than the mutant', () => {
    const report = {
      ...reportWith({ id: 1, passed: false, problems: { lost: ['x'] } }),
      workerEntry: 'dist/main.js',
    };
    expect(caughtChecks({ entry: ENTRY, scenario: 1, exitCode: 1, timedOut: false, report })).toEqual([]);
  });

  it('calls a mutant no-verdict, not survived, when every run judged another build or ran no scenario', () => {
    // The Compose driver runs the image: its report names it, not the mutant's bundle.
    const image = { ...reportWith({ id: 1, passed: true }), workerEntry: 'image localhost/els-worker:local' };
    const noScenario = { ...reportWith({ id: 2, passed: true }) };
    expect(judgedMutant({ entry: ENTRY, scenario: 1, exitCode: 0, report: image })).toBe(false);
    expect(judgedMutant({ entry: ENTRY, scenario: 1, exitCode: 0, report: noScenario })).toBe(false);
    expect(judgedMutant({ entry: ENTRY, scenario: 1, exitCode: 0, report: undefined })).toBe(false);
    expect(
      judgedMutant({ entry: ENTRY, scenario: 1, exitCode: 0, report: reportWith({ id: 1, passed: true }) }),
    ).toBe(true);
    expect(judgedMutant({ entry: ENTRY, scenario: 1, exitCode: 1, report: undefined })).toBe(true);
    expect(
      mutantStatus([
        { caught: false, judged: false },
        { caught: false, judged: false },
      ]),
    ).toBe('no-verdict');
    expect(
      mutantStatus([
        { caught: false, judged: false },
        { caught: false, judged: true },
      ]),
    ).toBe('survived');
    expect(mutantStatus([{ caught: true, judged: true }])).toBe('caught');
  });

  it('lists the files a patch writes', () => {
    const patch =
      'Mutant: x\n\ndiff --git a/apps/a.ts b/apps/a.ts\n--- a/apps/a.ts\n+++ b/apps/a.ts\n@@ -1 +1 @@\n-x\n+y\ndiff --git a/libs/n.sql b/libs/n.sql\nnew file mode 100644\n--- /dev/null\n+++ b/libs/n.sql\n';
    expect(patchedFiles(patch)).toEqual(['apps/a.ts', 'libs/n.sql']);
  });

  it('counts a run that passed as not caught, and a run that ended without a verdict as caught, saying how', () => {
    const passed = reportWith({ id: 1, passed: true });
    expect(caughtChecks({ entry: ENTRY, scenario: 1, exitCode: 0, timedOut: false, report: passed })).toEqual(
      [],
    );
    expect(
      caughtChecks({ entry: ENTRY, scenario: 1, exitCode: 1, timedOut: false, report: undefined }),
    ).toEqual(['suite exited with 1 without a scenario verdict']);
    expect(
      caughtChecks({
        entry: ENTRY,
        scenario: 1,
        exitCode: 1,
        timedOut: false,
        report: undefined,
        error: 'replica exited',
      }),
    ).toEqual(['scenario threw: replica exited']);
    expect(
      caughtChecks({ entry: ENTRY, scenario: 1, exitCode: null, timedOut: true, report: undefined }),
    ).toEqual(['run stopped after 600 s']);
  });

  describe('worker integration tests as catchers', () => {
    const ROOT = '/repo/e2e/distributed/src';
    const TEST = 'worker-faults/slow.int.test.ts';
    const results = (
      ...tests: Array<{ status: string; fullName?: string; failureMessages?: string[] }>
    ): JestJsonResults => ({
      numTotalTests: tests.length,
      numFailedTests: tests.filter((t) => t.status === 'failed').length,
      testResults: [
        {
          name: `${ROOT}/${TEST}`,
          status: tests.some((t) => t.status === 'failed') ? 'failed' : 'passed',
          assertionResults: tests.map((t, i) => ({ fullName: `slow › test ${i + 1}`, ...t })),
        },
      ],
    });
    const run = (over: Partial<Parameters<typeof integrationChecks>[0]>) => ({
      test: TEST,
      exitCode: 0,
      timedOut: false,
      results: undefined,
      error: undefined,
      ...over,
    });

    it('tries the integration tests first, then the scenarios, and the nemesis only for a mutant with scenarios', () => {
      expect(attemptsFor({ scenarios: [], integrationTests: ['a.int.test.ts', 'b.int.test.ts'] }, 1)).toEqual(
        [{ test: 'a.int.test.ts' }, { test: 'b.int.test.ts' }],
      );
      expect(attemptsFor({ scenarios: [4], integrationTests: ['a.int.test.ts'] }, 5)).toEqual([
        { test: 'a.int.test.ts' },
        { scenario: 4, seed: 5 },
        { scenario: 7, seed: 5 },
        { scenario: 7, seed: 6 },
        { scenario: 7, seed: 7 },
      ]);
      expect(attemptsFor({ scenarios: [7] }, 1)).toEqual([
        { scenario: 7, seed: 1 },
        { scenario: 7, seed: 2 },
        { scenario: 7, seed: 3 },
      ]);
    });

    it('names the failed tests of the file, with their first failure lines, as what caught the mutant', () => {
      const failed = results(
        { status: 'passed' },
        {
          status: 'failed',
          failureMessages: [
            'Error: expect(received).toBe(expected)\n\nExpected: 40\nReceived: \u001b[31m80\u001b[39m\n    at Object.<anonymous> (slow.int.test.ts:80:5)',
          ],
        },
      );
      expect(integrationChecks(run({ exitCode: 1, results: failed }), ROOT)).toEqual([
        'slow › test 2: Error: expect(received).toBe(expected) Expected: 40 Received: 80',
      ]);
      expect(judgedIntegrationRun(run({ exitCode: 1, results: failed }), ROOT)).toBe(true);
    });

    it('counts a file that passed as not caught but judged', () => {
      const passed = results({ status: 'passed' }, { status: 'passed' });
      expect(integrationChecks(run({ results: passed }), ROOT)).toEqual([]);
      expect(judgedIntegrationRun(run({ results: passed }), ROOT)).toBe(true);
    });

    it('counts a file that failed after its tests passed (an afterAll hook) as caught, saying so', () => {
      const passed = results({ status: 'passed' });
      expect(
        integrationChecks(run({ exitCode: 1, results: passed, error: 'a replica leaked: pid 42' }), ROOT),
      ).toEqual(['the test file failed outside its tests: a replica leaked: pid 42']);
    });

    it('takes no verdict from a file that ran no test: it did not load, or the results are of another file', () => {
      const none: JestJsonResults = {
        numTotalTests: 0,
        numFailedTests: 0,
        testResults: [
          { name: `${ROOT}/${TEST}`, status: 'failed', message: 'SyntaxError', assertionResults: [] },
        ],
      };
      expect(judgedIntegrationRun(run({ exitCode: 1, results: none }), ROOT)).toBe(false);
      expect(integrationChecks(run({ exitCode: 1, results: none }), ROOT)).toEqual([]);
      expect(judgedIntegrationRun(run({ exitCode: 1, results: undefined }), ROOT)).toBe(false);
      const other = { ...results({ status: 'failed' }), testResults: [] };
      expect(integrationChecks(run({ exitCode: 1, results: other }), ROOT)).toEqual([]);
      const skipped = results({ status: 'pending' });
      expect(judgedIntegrationRun(run({ results: skipped }), ROOT)).toBe(false);
    });

    it('counts a run stopped after its timeout as caught', () => {
      expect(integrationChecks(run({ exitCode: null, timedOut: true }), ROOT)).toEqual([
        'run stopped after 600 s',
      ]);
      expect(judgedIntegrationRun(run({ exitCode: null, timedOut: true }), ROOT)).toBe(true);
    });

    it('accepts only existing *.int.test.ts files under the tests root', () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mutant-tests-'));
      try {
        fs.mkdirSync(path.join(root, 'worker-faults'));
        fs.writeFileSync(path.join(root, 'worker-faults', 'x.int.test.ts'), '');
        fs.writeFileSync(path.join(root, 'worker-faults', 'x.test.ts'), '');
        expect(integrationTestPath('worker-faults/x.int.test.ts', root)).toBe(
          path.join(root, 'worker-faults', 'x.int.test.ts'),
        );
        expect(() => integrationTestPath('worker-faults/y.int.test.ts', root)).toThrow(/does not exist/);
        expect(() => integrationTestPath('worker-faults/x.test.ts', root)).toThrow(/not a \*\.int\.test\.ts/);
        expect(() => integrationTestPath('../x.int.test.ts', root)).toThrow(/not a/);
        expect(() => integrationTestPath(path.join(root, 'worker-faults', 'x.int.test.ts'), root)).toThrow(
          /not a/,
        );
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });

    it('reports which worker test or scenario caught a mutant, and what a survivor passed', () => {
      const byTest = {
        test: TEST,
        caught: true,
        checks: ['slow › test 2: lost'],
        durationMs: 1,
        log: 'x/jest.log',
        results: 'x/results.json',
      };
      const byScenario = { scenario: 4, seed: 2, caught: true, checks: ['lost'], durationMs: 1, log: 'y' };
      expect(caughtByOf(byTest)).toEqual({ test: TEST, checks: ['slow › test 2: lost'] });
      expect(caughtByOf(byScenario)).toEqual({ scenario: 4, seed: 2, checks: ['lost'] });
      expect(runLabel(byTest)).toBe(`worker test ${TEST}`);
      expect(runLabel(byScenario)).toBe('scenario 4 (seed 2)');
      expect(
        survivedRuns({
          runs: [
            { ...byScenario, caught: false },
            { ...byTest, caught: false },
          ],
        }),
      ).toBe(`passed scenario 4 (seed 2), worker test ${TEST}`);
      const result: MutantResult = {
        id: 'm',
        invariant: 'invariant 11 (no stuck peer)',
        defect: 'd',
        scenarios: [],
        integrationTests: [TEST],
        status: 'caught',
        caughtBy: caughtByOf(byTest),
        runs: [byTest],
        durationMs: 1000,
      };
      const html = mutantsTableHtml({ startedAt: 't', subset: 'all', seed: 1, mutants: [result] });
      expect(html).toContain(`caught by worker test ${TEST}`);
      expect(html).toContain('slow › test 2: lost');
    });
  });
});
