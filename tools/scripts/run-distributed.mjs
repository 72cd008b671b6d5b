#!/usr/bin/env node
// `npm run distributed -- --scenario race --instances 5 --duration 120 [--profile ci]`: maps the flags to
// E2E_SCENARIO, E2E_INSTANCES, E2E_DURATION_S and E2E_PROFILE and runs `npx nx e2e distributed`, which
// builds the worker and the generator, brings the local stack up and runs the selected scenarios.
// The report is written to dist/reports/distributed/report.json and report.html.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const FLAGS = {
  '--scenario': 'E2E_SCENARIO',
  '--instances': 'E2E_INSTANCES',
  '--duration': 'E2E_DURATION_S',
  '--profile': 'E2E_PROFILE',
  '--seed': 'E2E_SEED',
  '--faults': 'E2E_FAULTS',
  '--driver': 'E2E_DRIVER',
};

const USAGE = `usage: npm run distributed -- [--scenario <id|name>[,…]] [--instances <n>] [--duration <s>] [--profile ci|full] [--seed <n>] [--faults <kind>[,…]] [--driver process|compose]
       npm run distributed -- trace <batch-or-correlation-id> [--dir <report dir>]

  --scenario   1 race, 2 cross-instance, 3 completion, 4 high-concurrency, 5 redis-consistency,
               6 horizontal-scaling, 7 faults, 8 ordering, 9 bad-input (default: all)
  --instances  worker replicas per scenario (default 3)
  --duration   seconds of load for the time-based scenarios
  --profile    ci: every scenario at small sizes; full (default)
  --seed       E2E_SEED: fixes the workloads and the fault schedule (default: drawn and printed)
  --faults     E2E_FAULTS: the fault kinds scenario 7 draws from (default: all)
  --driver     E2E_DRIVER: process (default) or compose (containers of the Compose stack; npm run images first)
  trace        prints every log line of every replica of the last run that names the id, in time order`;

const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
const args = process.argv.slice(2);

// `trace <id>`: follow one batch or correlation id through the merged replica logs of the last run.
if (args[0] === 'trace') {
  const child = spawn(
    'npx',
    [
      'tsx',
      '--tsconfig',
      'e2e/distributed/tsconfig.json',
      'e2e/distributed/src/report/trace-command.ts',
      ...args.slice(1),
    ],
    { cwd: repoRoot, env, stdio: 'inherit' },
  );
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  runSuite();
}

function runSuite() {
  const bad = [];
  for (let i = 0; i < args.length; i += 1) {
    const [flag, inline] = args[i].split('=', 2);
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const name = FLAGS[flag];
    const value = inline ?? args[i + 1];
    if (!name || value === undefined || value.startsWith('--')) {
      bad.push(args[i]);
      continue;
    }
    if (inline === undefined) i += 1;
    env[name] = value;
  }
  if (env.E2E_INSTANCES !== undefined && !/^\d+$/.test(env.E2E_INSTANCES))
    bad.push(`--instances ${env.E2E_INSTANCES}`);
  if (env.E2E_DURATION_S !== undefined && !(Number(env.E2E_DURATION_S) > 0))
    bad.push(`--duration ${env.E2E_DURATION_S}`);
  if (bad.length > 0) {
    process.stderr.write(`unknown or invalid argument(s): ${bad.join(', ')}\n${USAGE}\n`);
    process.exit(2);
  }

  const child = spawn('npx', ['nx', 'e2e', 'distributed', '--outputStyle=static'], {
    cwd: repoRoot,
    env,
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
