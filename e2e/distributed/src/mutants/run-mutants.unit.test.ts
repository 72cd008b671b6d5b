import type { RunReport, ScenarioReport } from '../report/run-report';
import type { Mutant } from './mutant-catalogue';
import { patchedFiles } from './mutant-build';
import { caughtChecks, firstJestError, judgedMutant, mutantStatus, selectMutants } from './run-mutants';

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
});
