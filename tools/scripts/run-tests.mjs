#!/usr/bin/env node
// `npm test`: brings the local stack up, runs lint and typecheck of every project, then every project's
// unit (*.test.ts) and integration (*.int.test.ts) tests one project at a time (integration tests share one
// broker), and ends with one line `N passed, M failed` counted from dist/test-results/*.json.
//
// A failed lint or typecheck task does not stop the tests; it counts as one failure, as does a test task
// that failed without a failing test (a jest configuration error, an empty project). Those are written to
// dist/test-results/workspace-checks.json so .ci/run counts them too.
//
//   npm test                                  everything
//   npm test -- --projects=contracts          restrict to projects (also --exclude=…); passed to both steps
//   npm test -- --projects=contracts -t parse other arguments are passed to jest
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, resultsDir, summarise } from './test-summary.mjs';

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };

const selectionArgs = [];
const jestArgs = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 1) {
  const arg = args[i];
  if (/^--(projects|exclude)=/.test(arg)) selectionArgs.push(arg);
  else if (['--projects', '-p', '--exclude'].includes(arg) && args[i + 1] !== undefined) {
    selectionArgs.push(arg, args[(i += 1)]);
  } else jestArgs.push(arg);
}

// Upper bounds per step, so CI stays within its budget even when a test process hangs.
const CHECKS_TIMEOUT_MS = Number(process.env.ELS_TEST_CHECKS_TIMEOUT_MS ?? 5 * 60_000);
const TESTS_TIMEOUT_MS = Number(process.env.ELS_TEST_TIMEOUT_MS ?? 15 * 60_000);

const log = (message) => process.stdout.write(`[test] ${message}\n`);

/**
 * Runs a command in its own process group, echoing its output while keeping a copy to parse. After
 * `timeoutMs` the whole group is stopped (a test process that never exits must not hold CI forever).
 */
function runEchoed(command, commandArgs, { timeoutMs }) {
  return new Promise((resolve) => {
    log(`${command} ${commandArgs.join(' ')}`);
    const child = spawn(command, commandArgs, {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const killGroup = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const forward = (signal) => () => killGroup(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const timer = setTimeout(() => {
      timedOut = true;
      log(`${[command, ...commandArgs.slice(0, 4)].join(' ')} exceeded ${timeoutMs / 1000} s; stopping it`);
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    const finish = (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve({ code, output, timedOut });
    };
    child.on('error', (error) => {
      output += `\n${error.message}`;
      finish(1);
    });
    child.on('close', (code, signal) => finish(code ?? (signal ? 1 : 0)));
  });
}

/** Task ids (`project:target`) that Nx lists under "Failed tasks:" at the end of a run-many. */
function failedTasks(output) {
  // Nx colours its summary; strip ANSI escapes before matching.
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  const start = plain.lastIndexOf('Failed tasks:');
  if (start < 0) return [];
  const tasks = [];
  for (const line of plain.slice(start).split('\n').slice(1)) {
    const match = /^\s*-\s+(\S+:\S+)\s*$/.exec(line);
    if (match) tasks.push(match[1]);
    else if (tasks.length > 0 && line.trim() !== '') break;
  }
  return tasks;
}

/** Project name → folder name, which is what the results reporter names its file after. */
function projectFolders() {
  const folders = new Map();
  for (const group of ['apps', 'libs', 'e2e', 'tools']) {
    const dir = path.join(repoRoot, group);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name, 'project.json');
      if (!fs.existsSync(file)) continue;
      try {
        folders.set(JSON.parse(fs.readFileSync(file, 'utf8')).name, name);
      } catch {
        // an unreadable project.json is Nx's to report
      }
    }
  }
  return folders;
}

function hasFailingTests(folder) {
  try {
    const results = JSON.parse(fs.readFileSync(path.join(resultsDir, `${folder}.json`), 'utf8'));
    return (results.numFailedTests ?? 0) + (results.numRuntimeErrorTestSuites ?? 0) > 0;
  } catch {
    return false;
  }
}

function writeWorkspaceChecks(failures) {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(
    path.join(resultsDir, 'workspace-checks.json'),
    JSON.stringify(
      {
        project: 'workspace-checks',
        numPassedTests: 0,
        numFailedTests: failures.length,
        numTotalTests: failures.length,
        numRuntimeErrorTestSuites: 0,
        testResults: failures.map((failure) => ({
          name: failure.task,
          failureMessage: failure.reason,
          assertionResults: [{ fullName: failure.reason, status: 'failed' }],
        })),
      },
      null,
      2,
    ),
  );
}

async function main() {
  fs.rmSync(resultsDir, { recursive: true, force: true });
  const failures = [];

  const stack = spawnSync(process.execPath, [path.join(repoRoot, 'infra/local/stack.mjs'), 'up'], {
    cwd: repoRoot,
    env,
    stdio: 'inherit',
  });
  if (stack.status !== 0) {
    failures.push({ task: 'stack:up', reason: `local stack did not come up (exit ${stack.status})` });
  }

  const checks = await runEchoed(
    'npx',
    ['nx', 'run-many', '-t', 'lint', 'typecheck', '--parallel=2', '--outputStyle=static', ...selectionArgs],
    { timeoutMs: CHECKS_TIMEOUT_MS },
  );
  const failedChecks = failedTasks(checks.output);
  for (const task of failedChecks) failures.push({ task, reason: 'task failed (see its output above)' });
  if (checks.timedOut) {
    failures.push({ task: 'lint/typecheck', reason: `stopped after ${CHECKS_TIMEOUT_MS / 1000} s` });
  } else if (checks.code !== 0 && failedChecks.length === 0) {
    failures.push({
      task: 'lint/typecheck',
      reason: `nx run-many lint typecheck exited with ${checks.code}`,
    });
  }

  const tests = await runEchoed(
    'npx',
    [
      'nx',
      'run-many',
      '-t',
      'test',
      '--parallel=1',
      '--outputStyle=static',
      ...selectionArgs,
      ...(jestArgs.length > 0 ? ['--', ...jestArgs] : []),
    ],
    { timeoutMs: TESTS_TIMEOUT_MS },
  );
  const folders = projectFolders();
  const failedTests = failedTasks(tests.output);
  for (const task of failedTests) {
    const project = task.split(':')[0];
    if (!hasFailingTests(folders.get(project) ?? project)) {
      failures.push({
        task,
        reason:
          'task failed without a failing test (no tests found, or jest could not start; see its output above)',
      });
    }
  }
  if (tests.timedOut) {
    failures.push({ task: 'test', reason: `stopped after ${TESTS_TIMEOUT_MS / 1000} s` });
  } else if (tests.code !== 0 && failedTests.length === 0) {
    failures.push({ task: 'test', reason: `nx run-many test exited with ${tests.code}` });
  }

  if (failures.length > 0) writeWorkspaceChecks(failures);
  const summary = summarise();
  process.stdout.write('\n');
  for (const failure of summary.failures) process.stdout.write(`FAILED ${failure}\n`);
  process.stdout.write(`${summary.passed} passed, ${summary.failed} failed\n`);
  process.exitCode = summary.failed > 0 || checks.code !== 0 || tests.code !== 0 ? 1 : 0;
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exitCode = 1;
});
