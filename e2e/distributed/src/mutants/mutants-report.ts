import fs from 'node:fs';
import path from 'node:path';
import { escapeHtml } from '../report/html-escape';

/** dist/reports/mutants/report.json: what the mutation self-test tried and what caught each mutant. */

export interface MutantScenarioRun {
  scenario: number;
  /** E2E_SEED of the run. */
  seed: number;
  caught: boolean;
  /** The failing checks (problem names of the scenario), or how the run ended when it gave no verdict. */
  checks: string[];
  durationMs: number;
  /** The run's jest output, relative to the mutants report directory. */
  log: string;
}

export interface MutantResult {
  id: string;
  invariant: string;
  defect: string;
  scenarios: number[];
  /** `no-verdict`: no run of the mutant judged the mutant's own build (see `reason`). */
  status: 'caught' | 'survived' | 'not-built' | 'no-verdict';
  caughtBy?: { scenario: number; seed: number; checks: string[] };
  /** Why the mutant could not be built (its patch no longer applies, or the build failed), or got no verdict. */
  reason?: string;
  runs: MutantScenarioRun[];
  durationMs: number;
}

export interface MutantsReport {
  startedAt: string;
  subset: 'ci' | 'all';
  /** The first seed; the nemesis runs use it and the next ones. */
  seed: number;
  mutants: MutantResult[];
}

const verdict = (result: MutantResult) =>
  result.status === 'caught'
    ? `<td class="ok">caught by scenario ${result.caughtBy?.scenario} (seed ${result.caughtBy?.seed})</td><td>${escapeHtml((result.caughtBy?.checks ?? []).join(', '))}</td>`
    : `<td class="bad">${{ survived: 'SURVIVED', 'not-built': 'NOT BUILT', 'no-verdict': 'NO VERDICT' }[result.status]}</td><td>${escapeHtml(result.reason ?? `passed scenarios ${result.runs.map((r) => r.scenario).join(', ')}`)}</td>`;

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
