import { spawn } from 'node:child_process';
import { repoRoot, stackScript } from './paths';

/** The per-service operations infra/local/stack.mjs exports for fault injection. */
export type StackOperation =
  | 'startPostgres'
  | 'stopPostgres'
  | 'startRedis'
  | 'stopRedis'
  | 'startKafka'
  | 'stopKafka'
  | 'restartKafka'
  | 'crashPostgres'
  | 'crashKafka'
  | 'up';

const OPERATION_TIMEOUT_MS = 150_000;

/**
 * Runs one exported operation of the local stack script in a child Node process. The script is an ES
 * module and the tests run as CommonJS under jest, so a child process is the simplest bridge; it also keeps
 * the stack's own waits (ports, Kafka metadata) out of the test process.
 */
export function runStackOperation(operation: StackOperation): Promise<void> {
  const code = `import(${JSON.stringify(stackScript)}).then((stack) => stack.${operation}()).then(() => process.exit(0), (error) => { console.error(error); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), OPERATION_TIMEOUT_MS);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      if (exitCode === 0) resolve();
      else reject(new Error(`stack ${operation} failed (exit ${exitCode}): ${stderr.trim().slice(-2000)}`));
    });
  });
}

/** Fault controls on the shared services. Each `restart…` returns once the service answers again. */
export const stackFaults = {
  stopPostgres: () => runStackOperation('stopPostgres'),
  startPostgres: () => runStackOperation('startPostgres'),
  stopRedis: () => runStackOperation('stopRedis'),
  startRedis: () => runStackOperation('startRedis'),
  stopKafka: () => runStackOperation('stopKafka'),
  startKafka: () => runStackOperation('startKafka'),
  async restartPostgres(): Promise<void> {
    await runStackOperation('stopPostgres');
    await runStackOperation('startPostgres');
  },
  /** Restarts the running broker with its own command line (same data dir), whoever started it. */
  restartKafka: () => runStackOperation('restartKafka'),
  /** SIGKILL of the postmaster and every backend, then crash recovery; returns once it answers again. */
  crashPostgres: () => runStackOperation('crashPostgres'),
  /** SIGKILL of the broker, then the same broker started again; returns once it answers again. */
  crashKafka: () => runStackOperation('crashKafka'),
};
