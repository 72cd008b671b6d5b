import { spawn } from 'node:child_process';
import { composeServiceFaults } from './compose-stack';
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
export interface StackFaults {
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
  stopKafka(): Promise<void>;
  startKafka(): Promise<void>;
  restartPostgres(): Promise<void>;
  /** Restarts the running broker with its own command line (same data dir), whoever started it. */
  restartKafka(): Promise<void>;
  /** SIGKILL of the postmaster and every backend, then crash recovery; returns once it answers again. */
  crashPostgres(): Promise<void>;
  /** SIGKILL of the broker, then the same broker started again; returns once it answers again. */
  crashKafka(): Promise<void>;
}

/** The local stack's services, as processes of this machine (the process driver). */
const processStackFaults: StackFaults = {
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
  restartKafka: () => runStackOperation('restartKafka'),
  crashPostgres: () => runStackOperation('crashPostgres'),
  crashKafka: () => runStackOperation('crashKafka'),
};

/** The Compose stack's service containers, through the engine (the Compose driver). */
const composeStackFaults: StackFaults = {
  stopPostgres: () => composeServiceFaults.stop('postgres'),
  startPostgres: () => composeServiceFaults.start('postgres'),
  stopRedis: () => composeServiceFaults.stop('redis'),
  startRedis: () => composeServiceFaults.start('redis'),
  stopKafka: () => composeServiceFaults.stop('kafka'),
  startKafka: () => composeServiceFaults.start('kafka'),
  restartPostgres: () => composeServiceFaults.restart('postgres'),
  restartKafka: () => composeServiceFaults.restart('kafka'),
  crashPostgres: () => composeServiceFaults.crash('postgres'),
  crashKafka: () => composeServiceFaults.crash('kafka'),
};

export const stackFaults: StackFaults =
  process.env['E2E_DRIVER'] === 'compose' ? composeStackFaults : processStackFaults;
