#!/usr/bin/env node
// `nx run els-worker:serve`: local stack up, build, migrate, then start with human-readable logs.
// The local stack's URLs are defaults only; ELS_* variables already set win.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(root, 'dist', 'apps', 'els-worker', 'main.js');
const env = {
  ELS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/els',
  ELS_REDIS_URL: 'redis://127.0.0.1:6379',
  ELS_KAFKA_BROKERS: '127.0.0.1:9092',
  ELS_LOG_PRETTY: 'true',
  ...process.env,
};

function run(step, command, args) {
  process.stderr.write(`[serve] ${step}\n`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`[serve] ${step} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
}

run('local stack', 'npm', ['run', 'stack', '--', 'up']);
run('build', process.execPath, [path.join(root, 'apps', 'els-worker', 'build.mjs')]);
run('migrate', process.execPath, [main, 'migrate']);

process.stderr.write('[serve] start\n');
const worker = spawn(process.execPath, ['--enable-source-maps', main, 'start'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => worker.kill(signal));
worker.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
