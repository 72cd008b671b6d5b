import fs from 'node:fs';
import path from 'node:path';
import { escapeHtml } from '@els/harness';

/** dist/reports/mutants/report.json: what the mutation self-test tried and what caught each mutant. */

interface MutantRunBase {
  caught: boolean;
  /**
   * The failing checks (problem names of the scenario, or the failed tests of a worker integration test),
   * or how the run ended when it gave no verdict.
   */
  checks: string[];
  durationMs: number;
  /** The run's jest output, relative to the mutants report directory. */
  log: string;
}

/** A distributed scenario run against the mutant. */
export interface MutantScenarioRun extends MutantRunBase {
  scenario: number;
  /** E2E_SEED of the run. */
  seed: number;
}

/** A worker integration test file run against the mutant. */
export interface MutantIntegrationRun extends MutantRunBase {
  /** The test file, relative to e2e/distributed/src. */
  test: string;
  /** Its jest results (`--json`), relative to the mutants report directory. */
  results: string;
}

export type MutantRun = MutantScenarioRun | MutantIntegrationRun;

/** What caught a mutant: a scenario under a seed, or a worker integration test file. */
export type MutantCatch =
  { scenario: number; seed: number; checks: string[] } | { test: string; checks: string[] };

/** `scenario 4 (seed 1)` or `worker test worker-faults/slow-database.int.test.ts`. */
export function runLabel(run: { scenario: number; seed: number } | { test: string }): string {
  return 'test' in run ? `worker test ${run.test}` : `scenario ${run.scenario} (seed ${run.seed})`;
}

export interface MutantResult {
  id: string;
  invariant: string;
  defect: string;
  scenarios: number[];
  /** The worker integration tests the catalogue names for it (relative to e2e/distributed/src). */
  integrationTests?: string[];
  /** `no-verdict`: no run of the mutant judged the mutant's own build (see `reason`). */
  status: 'caught' | 'survived' | 'not-built' | 'no-verdict';
  caughtBy?: MutantCatch;
  /** Why the mutant could not be built (its patch no longer applies, or the build failed), or got no verdict. */
  reason?: string;
  runs: MutantRun[];
  durationMs: number;
}

export interface MutantsReport {
  startedAt: string;
  subset: 'ci' | 'all';
  /** The first seed; the nemesis runs use it and the next ones. */
  seed: number;
  mutants: MutantResult[];
}

/** What a mutant that was not caught went through: `passed scenario 4 (seed 1), worker test …`. */
export function survivedRuns(result: Pick<MutantResult, 'runs'>): string {
  return `passed ${result.runs.map(runLabel).join(', ') || 'no run'}`;
}

const verdict = (result: MutantResult) =>
  result.status === 'caught'
    ? `<td class="ok">caught by ${result.caughtBy ? escapeHtml(runLabel(result.caughtBy)) : '?'}</td><td>${escapeHtml((result.caughtBy?.checks ?? []).join(', '))}</td>`
    : `<td class="bad">${{ survived: 'SURVIVED', 'not-built': 'NOT BUILT', 'no-verdict': 'NO VERDICT' }[result.status]}</td><td>${escapeHtml(result.reason ?? survivedRuns(result))}</td>`;

/** The mutants table, for the mutants report and the distributed run's report. */
export function mutantsTableHtml(report: MutantsReport): string {
  const caught = report.mutants.filter((m) => m.status === 'caught').length;
  const rows = report.mutants
    .map(
      (m) =>
        `<tr><td>${escapeHtml(m.id)}</td><td>${escapeHtml(m.invariant)}</td><td>${escapeHtml(m.defect)}</td>${verdict(m)}<td>${(m.durationMs / 1000).toFixed(0)} s</td></tr>`,
    )
    .join('');
  return `<p>${caught} of ${report.mutants.length} mutants caught (${report.subset === 'ci' ? 'CI subset' : 'whole catalogue'}, seed ${report.seed}, started ${escapeHtml(report.startedAt)}).</p>
<table class="mutants"><tr><th>mutant</th><th>breaks</th><th>defect</th><th>verdict</th><th>failing checks</th><th>time</th></tr>${rows}</table>`;
}

export function writeMutantsReport(dir: string, report: MutantsReport): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(
    path.join(dir, 'report.html'),
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ELS mutation self-test ${escapeHtml(report.startedAt)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
table { border-collapse: collapse; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
.ok { color: #2a7a3f; } .bad { color: #b3261e; font-weight: bold; }
</style></head><body>
<h1>ELS mutation self-test</h1>
${mutantsTableHtml(report)}
</body></html>
`,
  );
}

/** The last mutants report, if the self-test has run in this checkout. */
export function readMutantsReport(dir: string): MutantsReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as MutantsReport;
  } catch {
    return undefined;
  }
}
