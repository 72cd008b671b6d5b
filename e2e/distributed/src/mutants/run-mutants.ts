import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mutantsReportDir, repoRoot, reportDir, runStackOperation } from '@els/harness';

/** Where the jest results of every step land for the CI summary line. */
const resultsDir = path.join(repoRoot, 'dist', 'test-results');
import { rerenderRunReport, type RunReport } from '../report/run-report';
import { SCENARIO_NAMES } from '../scenarios/run-settings';
import { buildMutant, MutantBuildError } from './mutant-build';
import { MUTANTS, mutantsDir, type Mutant } from './mutant-catalogue';
import {
  runLabel,
  survivedRuns,
  writeMutantsReport,
  type MutantResult,
  type MutantRun,
  type MutantsReport,
} from '../report/mutants-report';

/**
 * `npx nx run distributed:mutants`: the suite measures its own strength. Each mutant of the catalogue (a
 * known defect, as a patch) is applied to a scratch copy of the worker and built; the worker integration
 * tests and then the scenarios expected to catch it run against that build one at a time until one fails,
 * then the random-fault scenario under three seeds if none did (only for a mutant that names scenarios).
 * A mutant no run fails on has survived, and the target fails. E2E_SEED (default 1) fixes the seeds, so a
 * verdict replays.
 *
 *   --ci            only the catalogue's CI subset (four mutants, each caught by one fast scenario or
 *                   worker test)
 *   --only=a,b      only these mutant ids
 *   --list          print the catalogue and exit
 *
 * Writes dist/reports/mutants/report.json and report.html, and each scenario run's report and log (each
 * integration test run's jest results and log) under dist/reports/mutants/<mutant>/.
 */

/** The scenario of random composed faults: every mutant that its own scenarios miss is tried there too. */
const NEMESIS_SCENARIO = 7;
/** Seeds the nemesis is tried under (E2E_SEED, E2E_SEED + 1, …) before a mutant counts as survived. */
const NEMESIS_SEEDS = 3;
/** A scenario run against a mutant is stopped after this long (CI profile sizes finish in a few minutes). */
const SCENARIO_RUN_TIMEOUT_MS = 10 * 60_000;
/** A worker integration test file run against a mutant is stopped after this long. */
const INTEGRATION_RUN_TIMEOUT_MS = 10 * 60_000;
/** The root the catalogue's integration test paths are relative to. */
const testsRoot = path.join(repoRoot, 'e2e', 'distributed', 'src');

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

/** Jest's output without its colours: the escape character starts every SGR sequence. */
const withoutColours = (text: string) =>
  text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

/** The message under jest's first failure header (`● …`) in a run's output. */
export function firstJestError(output: string): string | undefined {
  const lines = withoutColours(output).split('\n');
  const header = lines.findIndex((line) => line.trimStart().startsWith('● '));
  if (header < 0) return undefined;
  const message = lines.slice(header + 1).find((line) => line.trim() !== '');
  return message?.trim().slice(0, 300);
}

interface JestProcess {
  exitCode: number | null;
  timedOut: boolean;
  logFile: string;
  durationMs: number;
}

/** Runs jest with `args` (its output into `dir`/jest.log), killed with its process group after `timeoutMs`. */
function runJest(
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<JestProcess> {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'jest.log');
  const out = fs.openSync(logFile, 'w');
  const started = Date.now();
  const jest = path.join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js');
  const child = spawn(process.execPath, [jest, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', out, out],
    detached: true,
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      fs.closeSync(out);
      resolve({ exitCode, timedOut, logFile, durationMs: Date.now() - started });
    });
  });
}

/** Runs one scenario of the distributed suite (CI profile, or the mutant's) against the mutant's bundle. */
async function runScenario(
  mutant: Mutant,
  entry: string,
  scenario: number,
  seed: number,
): Promise<ScenarioRun> {
  const dir = path.join(mutantsReportDir, mutant.id, `s${scenario}-seed${seed}`);
  const run = await runJest(
    dir,
    [
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
      ...process.env,
      // Only the process driver runs the bundle E2E_WORKER_ENTRY names (the Compose driver runs the
      // image): a shell's E2E_DRIVER=compose must not turn every mutant's run into the unmutated worker's.
      E2E_DRIVER: 'process',
      E2E_WORKER_ENTRY: entry,
      E2E_REPORT_DIR: dir,
      E2E_SCENARIO: String(scenario),
      E2E_PROFILE: mutant.profile ?? 'ci',
      E2E_SEED: String(seed),
      ...(mutant.faults && scenario === NEMESIS_SCENARIO ? { E2E_FAULTS: mutant.faults.join(',') } : {}),
    },
    SCENARIO_RUN_TIMEOUT_MS,
  );
  let report: RunReport | undefined;
  try {
    report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as RunReport;
  } catch {
    report = undefined;
  }
  const error = firstJestError(fs.readFileSync(run.logFile, 'utf8'));
  return { scenario, ...run, report, entry, error };
}

/** The part of jest's `--json` results an integration test run is judged by. */
export interface JestJsonResults {
  numTotalTests: number;
  numFailedTests: number;
  testResults: Array<{
    /** The test file's absolute path. */
    name: string;
    status?: string;
    /** The file's failure output: its failed tests, or why it failed outside them (a hook, a crash). */
    message?: string;
    assertionResults: Array<{ fullName: string; status: string; failureMessages?: string[] }>;
  }>;
}

interface IntegrationRun {
  /** The test file, relative to e2e/distributed/src. */
  test: string;
  exitCode: number | null;
  timedOut: boolean;
  results: JestJsonResults | undefined;
  /** The first error jest printed, for a file that failed outside its tests. */
  error: string | undefined;
  logFile: string;
  resultsFile: string;
  durationMs: number;
}

/**
 * The absolute path of a catalogue's integration test: a `*.int.test.ts` file of jest.int.config.cjs
 * under e2e/distributed/src that exists. Throws otherwise, so a misspelt path cannot pass for a survivor.
 */
export function integrationTestPath(test: string, root = testsRoot): string {
  const file = path.resolve(root, test);
  if (path.isAbsolute(test) || path.relative(root, file).startsWith('..') || !test.endsWith('.int.test.ts')) {
    throw new Error(`integration test ${test} is not a *.int.test.ts file under ${root}`);
  }
  if (!fs.existsSync(file)) throw new Error(`integration test ${test} does not exist under ${root}`);
  return file;
}

/** Runs one worker integration test file (jest.int.config.cjs) against the mutant's bundle. */
async function runIntegrationTest(mutant: Mutant, entry: string, test: string): Promise<IntegrationRun> {
  const file = integrationTestPath(test);
  const dir = path.join(mutantsReportDir, mutant.id, `int-${path.basename(test, '.int.test.ts')}`);
  const resultsFile = path.join(dir, 'results.json');
  const run = await runJest(
    dir,
    [
      '--config',
      'e2e/distributed/jest.int.config.cjs',
      '--runInBand',
      '--forceExit',
      // The default reporter only: the results reporter would overwrite the project's own results.
      '--reporters=default',
      '--json',
      '--outputFile',
      resultsFile,
      '--runTestsByPath',
      file,
    ],
    // The fixtures spawn the bundle E2E_WORKER_ENTRY names (e2e/harness/src/paths.ts).
    { ...process.env, E2E_WORKER_ENTRY: entry },
    INTEGRATION_RUN_TIMEOUT_MS,
  );
  let results: JestJsonResults | undefined;
  try {
    results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as JestJsonResults;
  } catch {
    results = undefined;
  }
  const error = firstJestError(fs.readFileSync(run.logFile, 'utf8'));
  return { test, ...run, results, error, resultsFile };
}

/** The results of the run's own test file (jest names it by absolute path). */
function ownFileResults(
  run: Pick<IntegrationRun, 'test' | 'results'>,
  root: string,
): JestJsonResults['testResults'][number] | undefined {
  const file = path.resolve(root, run.test);
  return run.results?.testResults.find((result) => path.resolve(result.name) === file);
}

/**
 * Whether an integration test run judged the mutant: its file ran at least one test to a pass or a
 * failure, or the run hung until stopped. A file that never got to its tests (it did not compile, jest
 * found no test) says nothing about the mutant, whose patch touches only the worker.
 */
export function judgedIntegrationRun(
  run: Pick<IntegrationRun, 'test' | 'timedOut' | 'results'>,
  root = testsRoot,
): boolean {
  if (run.timedOut) return true;
  return (ownFileResults(run, root)?.assertionResults ?? []).some(
    (test) => test.status === 'passed' || test.status === 'failed',
  );
}

/** A failure message on one line, without colours and stack frames, at most 240 characters. */
function failureSummary(message: string): string {
  const lines = withoutColours(message)
    .split('\n')
    .map((line) => line.trim());
  const end = lines.findIndex((line) => line.startsWith('at '));
  return (end < 0 ? lines : lines.slice(0, end)).filter(Boolean).join(' ').slice(0, 240);
}

/**
 * Names what caught the mutant in an integration test run: each failed test with its failure, the file's
 * failure outside its tests (an afterAll hook), or a run stopped after its timeout. Empty when the file
 * passed or never judged the mutant.
 */
export function integrationChecks(
  run: Pick<IntegrationRun, 'test' | 'exitCode' | 'timedOut' | 'results' | 'error'>,
  root = testsRoot,
): string[] {
  if (run.timedOut) return [`run stopped after ${INTEGRATION_RUN_TIMEOUT_MS / 1000} s`];
  if (!judgedIntegrationRun(run, root)) return [];
  const own = ownFileResults(run, root);
  const failed = (own?.assertionResults ?? []).filter((test) => test.status === 'failed');
  if (failed.length > 0) {
    return failed.map((test) => {
      const why = failureSummary(test.failureMessages?.[0] ?? '');
      return why ? `${test.fullName}: ${why}` : test.fullName;
    });
  }
  if (run.exitCode !== 0 || own?.status === 'failed') {
    const why = run.error ?? failureSummary(own?.message ?? '');
    return [`the test file failed outside its tests${why ? `: ${why}` : ` (exit ${run.exitCode})`}`];
  }
  return [];
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

/** One run the runner makes against a mutant: a worker integration test file, or a scenario under a seed. */
export type Attempt = { test: string } | { scenario: number; seed: number };

/**
 * What the runner tries against a mutant, in order, until one catches it: its worker integration tests,
 * its scenarios under the base seed, then the nemesis under NEMESIS_SEEDS seeds (once fewer when the
 * mutant names it, since its own run is the first). A mutant with integration tests only is not tried on
 * the nemesis: the condition that exposes it is one no scenario creates.
 */
export function attemptsFor(
  mutant: Pick<Mutant, 'scenarios' | 'integrationTests'>,
  baseSeed: number,
): Attempt[] {
  const attempts: Attempt[] = [
    ...(mutant.integrationTests ?? []).map((test) => ({ test })),
    ...mutant.scenarios.map((scenario) => ({ scenario, seed: baseSeed })),
  ];
  if (mutant.scenarios.length === 0) return attempts;
  for (let i = 0; i < NEMESIS_SEEDS; i += 1) {
    if (i === 0 && mutant.scenarios.includes(NEMESIS_SCENARIO)) continue;
    attempts.push({ scenario: NEMESIS_SCENARIO, seed: baseSeed + i });
  }
  return attempts;
}

/** Runs one attempt against the mutant's bundle and judges it. */
async function runAttempt(
  mutant: Mutant,
  entry: string,
  attempt: Attempt,
): Promise<{ run: MutantRun; judged: boolean }> {
  if ('test' in attempt) {
    log(`${mutant.id}: worker test ${attempt.test}…`);
    const run = await runIntegrationTest(mutant, entry, attempt.test);
    const checks = integrationChecks(run);
    const judged = judgedIntegrationRun(run);
    if (!judged) {
      log(
        `${mutant.id}: ${attempt.test} ran no test to a verdict (exit ${run.exitCode}${run.error ? `: ${run.error}` : ''}); no verdict`,
      );
    }
    return {
      judged,
      run: {
        test: attempt.test,
        caught: checks.length > 0,
        checks,
        durationMs: run.durationMs,
        log: path.relative(mutantsReportDir, run.logFile),
        results: path.relative(mutantsReportDir, run.resultsFile),
      },
    };
  }
  const { scenario, seed } = attempt;
  const name = SCENARIO_NAMES[scenario] ?? String(scenario);
  log(`${mutant.id}: scenario ${scenario} (${name}), seed ${seed}…`);
  const run = await runScenario(mutant, entry, scenario, seed);
  const checks = caughtChecks(run);
  const judged = judgedMutant(run);
  if (!judged) {
    log(
      `${mutant.id}: the run did not judge the mutant (it used ${run.report?.workerEntry ?? 'no report'}, scenario ${scenario} ${run.report?.scenarios.some((s) => s.id === scenario) ? 'ran' : 'did not run'}); no verdict`,
    );
  }
  return {
    judged,
    run: {
      scenario,
      seed,
      caught: checks.length > 0,
      checks,
      durationMs: run.durationMs,
      log: path.relative(mutantsReportDir, run.logFile),
    },
  };
}

async function runMutant(mutant: Mutant, baseSeed: number): Promise<MutantResult> {
  const started = Date.now();
  const base = {
    id: mutant.id,
    invariant: mutant.invariant,
    defect: mutant.defect,
    scenarios: mutant.scenarios,
    ...(mutant.integrationTests ? { integrationTests: mutant.integrationTests } : {}),
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
    for (const attempt of attemptsFor(mutant, baseSeed)) {
      const { run, judged } = await runAttempt(mutant, build.entry, attempt);
      judgedRuns.push(judged);
      runs.push(run);
      log(
        `${mutant.id}: ${runLabel(run)} ${run.caught ? `caught it (${run.checks.join(', ')})` : 'passed'} in ${Math.round(run.durationMs / 1000)} s`,
      );
      if (run.caught) break;
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
            "no run judged the mutant build (another worker ran, no scenario ran, or no test ran to a verdict); see the runs' logs",
        }
      : {}),
    ...(caught ? { caughtBy: caughtByOf(caught) } : {}),
    runs,
    durationMs: Date.now() - started,
  };
}

/** The report's `caughtBy` of the run that caught the mutant. */
export function caughtByOf(run: MutantRun): NonNullable<MutantResult['caughtBy']> {
  return 'test' in run
    ? { test: run.test, checks: run.checks }
    : { scenario: run.scenario, seed: run.seed, checks: run.checks };
}

/**
 * One test result per mutant in dist/test-results/mutants.json (the jest results shape the CI summary
 * counts): caught passes (`caughtBy` names the scenario or worker test and its failing checks), survived
 * or not built fails.
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
                ? result.caughtBy
                  ? { caughtBy: `${runLabel(result.caughtBy)}: ${result.caughtBy.checks.join('; ')}` }
                  : {}
                : { failureMessages: [result.reason ?? `survived: ${survivedRuns(result)}`] }),
            })),
          },
        ],
      },
      null,
      2,
    )}\n`,
  );
}

/** `scenarios 4,3,5`, `worker tests worker-faults/x.int.test.ts`, or both. */
function catchersOf(mutant: Mutant): string {
  return [
    mutant.integrationTests?.length ? `worker tests ${mutant.integrationTests.join(',')}` : '',
    mutant.scenarios.length > 0 ? `scenarios ${mutant.scenarios.join(',')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    for (const mutant of MUTANTS) {
      process.stdout.write(
        `${mutant.id.padEnd(34)} ${mutant.invariant.padEnd(40)} ${catchersOf(mutant)}${mutant.ci ? '  (ci)' : ''}\n`,
      );
    }
    return 0;
  }
  const { mutants, ciOnly } = selectMutants(args);
  // A misspelt test path fails here, before the stack comes up, not as a survivor.
  for (const mutant of mutants) for (const test of mutant.integrationTests ?? []) integrationTestPath(test);
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
