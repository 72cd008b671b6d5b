import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runStackOperation } from '../harness/stack-control';
import { mutantsReportDir, reportDir, repoRoot } from '../harness/paths';

/** Where the jest results of every step land for the CI summary line. */
const resultsDir = path.join(repoRoot, 'dist', 'test-results');
import { rerenderRunReport, type RunReport } from '../report/run-report';
import { SCENARIO_NAMES } from '../scenarios/run-settings';
import { buildMutant, MutantBuildError } from './mutant-build';
import { MUTANTS, mutantsDir, type Mutant } from './mutant-catalogue';
import { writeMutantsReport, type MutantResult, type MutantsReport } from './mutants-report';

/**
 * `npx nx run distributed:mutants`: the suite measures its own strength. Each mutant of the catalogue (a
 * known defect, as a patch) is applied to a scratch copy of the worker and built; the scenarios expected to
 * catch it run against that build one at a time until one fails, then the random-fault scenario under
 * three seeds if none did. A mutant no scenario fails on has survived, and the target fails. E2E_SEED
 * (default 1) fixes the seeds, so a verdict replays.
 *
 *   --ci            only the catalogue's CI subset (three mutants, each caught by one fast scenario)
 *   --only=a,b      only these mutant ids
 *   --list          print the catalogue and exit
 *
 * Writes dist/reports/mutants/report.json and report.html, and each scenario run's report and log under
 * dist/reports/mutants/<mutant>/.
 */

/** The scenario of random composed faults: every mutant that its own scenarios miss is tried there too. */
const NEMESIS_SCENARIO = 7;
/** Seeds the nemesis is tried under (E2E_SEED, E2E_SEED + 1, …) before a mutant counts as survived. */
const NEMESIS_SEEDS = 3;
/** A scenario run against a mutant is stopped after this long (CI profile sizes finish in a few minutes). */
const SCENARIO_RUN_TIMEOUT_MS = 10 * 60_000;

const log = (message: string) => process.stdout.write(`[mutants] ${message}\n`);

interface Selection {
  mutants: Mutant[];
  ciOnly: boolean;
}

export function selectMutants(args: readonly string[], catalogue: readonly Mutant[] = MUTANTS): Selection {
  const ciOnly = args.includes('--ci');
  const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
  let mutants = catalogue.filter((mutant) => !ciOnly || mutant.ci);
  if (only !== undefined) {
    const wanted = only
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    const unknown = wanted.filter((id) => !catalogue.some((mutant) => mutant.id === id));
    if (unknown.length > 0) {
      throw new Error(
        `unknown mutant ${unknown.join(', ')}; known: ${catalogue.map((m) => m.id).join(', ')}`,
      );
    }
    mutants = mutants.filter((mutant) => wanted.includes(mutant.id));
  }
  return { mutants, ciOnly };
}

interface ScenarioRun {
  scenario: number;
  exitCode: number | null;
  timedOut: boolean;
  report: RunReport | undefined;
  /** The mutant bundle the run was told to use. */
  entry: string;
  /** The first error jest printed for the scenario, when it failed without a report entry. */
  error: string | undefined;
  logFile: string;
  durationMs: number;
}

/** The message under jest's first failure header (`● …`) in a run's output. */
export function firstJestError(output: string): string | undefined {
  // Without jest's colours: the escape character starts every SGR sequence.
  const lines = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '').split('\n');
  const header = lines.findIndex((line) => line.trimStart().startsWith('● '));
  if (header < 0) return undefined;
  const message = lines.slice(header + 1).find((line) => line.trim() !== '');
  return message?.trim().slice(0, 300);
}

/** Runs one scenario of the distributed suite (CI profile) against the mutant's bundle. */
function runScenario(mutant: Mutant, entry: string, scenario: number, seed: number): Promise<ScenarioRun> {
  const dir = path.join(mutantsReportDir, mutant.id, `s${scenario}-seed${seed}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'jest.log');
  const out = fs.openSync(logFile, 'w');
  const started = Date.now();
  const jest = path.join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js');
  const child = spawn(
    process.execPath,
    [
      jest,
      '--config',
      'e2e/distributed/jest.e2e.config.cjs',
      '--runInBand',
      '--forceExit',
      // The default reporter only: the results reporter would overwrite the real suite's results.
      '--reporters=default',
      '--testNamePattern',
      'keeps every invariant',
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        // Only the process driver runs the bundle E2E_WORKER_ENTRY names (the Compose driver runs the
        // image): a shell's E2E_DRIVER=compose must not turn every mutant's run into the unmutated worker's.
        E2E_DRIVER: 'process',
        E2E_WORKER_ENTRY: entry,
        E2E_REPORT_DIR: dir,
        E2E_SCENARIO: String(scenario),
        E2E_PROFILE: 'ci',
        E2E_SEED: String(seed),
        ...(mutant.faults && scenario === NEMESIS_SCENARIO ? { E2E_FAULTS: mutant.faults.join(',') } : {}),
      },
      stdio: ['ignore', out, out],
      detached: true,
    },
  );
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
    }, SCENARIO_RUN_TIMEOUT_MS);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      fs.closeSync(out);
      let report: RunReport | undefined;
      try {
        report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as RunReport;
      } catch {
        report = undefined;
      }
      const error = firstJestError(fs.readFileSync(logFile, 'utf8'));
      resolve({
        scenario,
        exitCode,
        timedOut,
        report,
        entry,
        error,
        logFile,
        durationMs: Date.now() - started,
      });
    });
  });
}

/**
 * Whether a run judged the mutant's own build: it wrote a report naming the mutant's bundle and either
 * reached a verdict on the scenario or failed (a failure without a report entry still caught it). A run of
 * another build, or one that passed without running the scenario, says nothing about the mutant.
 */
export function judgedMutant(run: Pick<ScenarioRun, 'scenario' | 'exitCode' | 'report' | 'entry'>): boolean {
  if (run.report && run.report.workerEntry !== run.entry) return false;
  if (run.exitCode !== 0) return true;
  return run.report?.scenarios.some((s) => s.id === run.scenario) ?? false;
}

/** A mutant no run caught is survived only if some run judged it; otherwise there is no verdict. */
export function mutantStatus(
  runs: ReadonlyArray<{ caught: boolean; judged: boolean }>,
): MutantResult['status'] {
  if (runs.some((run) => run.caught)) return 'caught';
  return runs.some((run) => run.judged) ? 'survived' : 'no-verdict';
}

/** Names what caught the mutant in a failed run: the failing checks of the scenario, or how the run ended. */
export function caughtChecks(
  run: Pick<ScenarioRun, 'scenario' | 'exitCode' | 'timedOut' | 'report' | 'entry'> & {
    error?: string | undefined;
  },
): string[] {
  const entry = run.report?.scenarios.find((s) => s.id === run.scenario);
  if (run.report && run.report.workerEntry !== run.entry) {
    // A verdict about another build says nothing about the mutant.
    return [];
  }
  if (entry && !entry.passed) {
    const named = Object.keys(entry.problems ?? {});
    return named.length > 0 ? named : ['scenario failed'];
  }
  if (run.timedOut) return [`run stopped after ${SCENARIO_RUN_TIMEOUT_MS / 1000} s`];
  if (run.exitCode !== 0) {
    return [
      run.error
        ? `scenario threw: ${run.error}`
        : `suite exited with ${run.exitCode} without a scenario verdict`,
    ];
  }
  return [];
}

async function runMutant(mutant: Mutant, baseSeed: number): Promise<MutantResult> {
  const started = Date.now();
  const base = {
    id: mutant.id,
    invariant: mutant.invariant,
    defect: mutant.defect,
    scenarios: mutant.scenarios,
  };
  let build;
  try {
    build = buildMutant(mutant.id, path.join(mutantsDir, mutant.patch));
  } catch (error) {
    const reason = error instanceof MutantBuildError ? error.message : String(error);
    log(`${mutant.id}: not built: ${reason}`);
    return { ...base, status: 'not-built', reason, runs: [], durationMs: Date.now() - started };
  }
  const runs: MutantResult['runs'] = [];
  const judgedRuns: boolean[] = [];
  try {
    // The mutant's scenarios once each, then the nemesis under a few seeds: a fault-only defect shows when
    // a seed draws a fault that exposes it.
    const attempts: Array<{ scenario: number; seed: number }> = mutant.scenarios.map((scenario) => ({
      scenario,
      seed: baseSeed,
    }));
    for (let i = 0; i < NEMESIS_SEEDS; i += 1) {
      if (i === 0 && mutant.scenarios.includes(NEMESIS_SCENARIO)) continue;
      attempts.push({ scenario: NEMESIS_SCENARIO, seed: baseSeed + i });
    }
    for (const { scenario, seed } of attempts) {
      const name = SCENARIO_NAMES[scenario] ?? String(scenario);
      log(`${mutant.id}: scenario ${scenario} (${name}), seed ${seed}…`);
      const run = await runScenario(mutant, build.entry, scenario, seed);
      const checks = caughtChecks(run);
      const judged = judgedMutant(run);
      if (!judged) {
        log(
          `${mutant.id}: the run did not judge the mutant (it used ${run.report?.workerEntry ?? 'no report'}, scenario ${scenario} ${run.report?.scenarios.some((s) => s.id === scenario) ? 'ran' : 'did not run'}); no verdict`,
        );
      }
      judgedRuns.push(judged);
      runs.push({
        scenario,
        seed,
        caught: checks.length > 0,
        checks,
        durationMs: run.durationMs,
        log: path.relative(mutantsReportDir, run.logFile),
      });
      log(
        `${mutant.id}: scenario ${scenario} ${checks.length > 0 ? `caught it (${checks.join(', ')})` : 'passed'} in ${Math.round(run.durationMs / 1000)} s`,
      );
      if (checks.length > 0) break;
    }
  } finally {
    build.remove();
  }
  const caught = runs.find((run) => run.caught);
  const status = mutantStatus(runs.map((run, i) => ({ caught: run.caught, judged: judgedRuns[i] ?? false })));
  return {
    ...base,
    status,
    ...(status === 'no-verdict'
      ? {
          reason:
            "no run judged the mutant build (another worker ran, or no scenario ran); see the runs' logs",
        }
      : {}),
    ...(caught ? { caughtBy: { scenario: caught.scenario, seed: caught.seed, checks: caught.checks } } : {}),
    runs,
    durationMs: Date.now() - started,
  };
}

/**
 * One test result per mutant in dist/test-results/mutants.json (the jest results shape the CI summary
 * counts): caught passes, survived or not built fails.
 */
function writeMutantsTestResults(results: readonly MutantResult[]): void {
  const failed = results.filter((result) => result.status !== 'caught');
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(
    path.join(resultsDir, 'mutants.json'),
    `${JSON.stringify(
      {
        project: 'mutants',
        numPassedTests: results.length - failed.length,
        numFailedTests: failed.length,
        numTotalTests: results.length,
        numRuntimeErrorTestSuites: 0,
        testResults: [
          {
            name: 'e2e/distributed/src/mutants/run-mutants.ts',
            assertionResults: results.map((result) => ({
              fullName: `mutant ${result.id} (${result.invariant}) is caught`,
              status: result.status === 'caught' ? 'passed' : 'failed',
              ...(result.status === 'caught'
                ? {}
                : {
                    failureMessages: [
                      result.reason ?? `survived scenarios ${result.runs.map((r) => r.scenario).join(', ')}`,
                    ],
                  }),
            })),
          },
        ],
      },
      null,
      2,
    )}\n`,
  );
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    for (const mutant of MUTANTS) {
      process.stdout.write(
        `${mutant.id.padEnd(34)} ${mutant.invariant.padEnd(40)} scenarios ${mutant.scenarios.join(',')}${mutant.ci ? '  (ci)' : ''}\n`,
      );
    }
    return 0;
  }
  const { mutants, ciOnly } = selectMutants(args);
  // One seed for the whole self-test (E2E_SEED, default 1), so that a verdict can be replayed.
  const baseSeed = Number(process.env['E2E_SEED'] ?? 1);
  if (!Number.isSafeInteger(baseSeed) || baseSeed < 0 || baseSeed > 0xffffffff - NEMESIS_SEEDS) {
    throw new Error('E2E_SEED must be an integer from 0 to 4294967292');
  }
  log('bringing the local stack up');
  await runStackOperation('up');
  const startedAt = new Date().toISOString();
  log(`${mutants.length} mutants${ciOnly ? ' (CI subset)' : ''}: ${mutants.map((m) => m.id).join(', ')}`);
  const results: MutantResult[] = [];
  const report = (): MutantsReport => ({
    startedAt,
    subset: ciOnly ? 'ci' : 'all',
    seed: baseSeed,
    mutants: results,
  });
  for (const [i, mutant] of mutants.entries()) {
    log(`[${i + 1}/${mutants.length}] ${mutant.id} — breaks ${mutant.invariant}`);
    results.push(await runMutant(mutant, baseSeed));
    writeMutantsReport(mutantsReportDir, report());
  }
  writeMutantsReport(mutantsReportDir, report());
  writeMutantsTestResults(results);
  // The distributed run's report shows the mutants table too.
  rerenderRunReport(reportDir);
  const survived = results.filter((result) => result.status !== 'caught');
  log(
    `${results.length - survived.length} of ${results.length} mutants caught; report: ${path.relative(repoRoot, path.join(mutantsReportDir, 'report.html'))}`,
  );
  for (const result of survived) log(`NOT CAUGHT: ${result.id} (${result.status}) — ${result.defect}`);
  return survived.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `[mutants] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
