#!/usr/bin/env node
// Counts passed and failed tests from the per-project jest results in dist/test-results/*.json (written by
// tools/jest/results-reporter.cjs, plus workspace-checks.json from run-tests.mjs for failed lint, typecheck
// and test tasks that left no failing test behind) and prints the failures, then one line:
// `N passed, M failed`. failed = Σ numFailedTests + numRuntimeErrorTestSuites.
//
//   node tools/scripts/test-summary.mjs [--failure "<label>"]...   exits 1 when M > 0
//
// `--failure` adds a failure that left no results file (e.g. a step that crashed).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const resultsDir = path.join(repoRoot, 'dist', 'test-results');

/** Sums every results file; `failures` names what failed (test names, or the file when it is unreadable). */
export function summarise(dir = resultsDir) {
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  let passed = 0;
  let failed = 0;
  const failures = [];
  for (const file of files) {
    let results;
    try {
      results = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch (error) {
      failed += 1;
      failures.push(`${file}: unreadable results (${error.message})`);
      continue;
    }
    passed += Number(results.numPassedTests) || 0;
    failed += (Number(results.numFailedTests) || 0) + (Number(results.numRuntimeErrorTestSuites) || 0);
    for (const suite of results.testResults ?? []) {
      const failedTests = (suite.assertionResults ?? []).filter((a) => a.status === 'failed');
      for (const test of failedTests) failures.push(`${suite.name}: ${test.fullName}`);
      if (failedTests.length === 0 && suite.failureMessage)
        failures.push(`${suite.name}: suite failed to run`);
    }
  }
  return { passed, failed, failures, files };
}

function main() {
  const extra = [];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 1) {
    if (args[i] === '--failure' && args[i + 1] !== undefined) extra.push(args[(i += 1)]);
  }
  const summary = summarise();
  const failures = [...summary.failures, ...extra];
  const failed = summary.failed + extra.length;
  for (const failure of failures) process.stdout.write(`FAILED ${failure}\n`);
  process.stdout.write(`${summary.passed} passed, ${failed} failed\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
