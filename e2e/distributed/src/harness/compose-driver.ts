import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './paths';

/**
 * Compose driver: where a Docker engine answers, the replicas can run as containers of
 * infra/compose/distributed-test.yml instead of local processes. The process driver is the default; this
 * driver only deploys, scales and tears down the stack, and the checker talks to it the same way (Kafka on
 * the published broker port, PostgreSQL on its published port).
 */

export const COMPOSE_FILE = path.join(repoRoot, 'infra', 'compose', 'distributed-test.yml');

export function dockerAvailable(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export interface ComposeDriver {
  up(replicas: number): void;
  scale(replicas: number): void;
  /** Container ids of the worker service (the replicas). */
  replicaIds(): string[];
  kill(containerId: string): void;
  down(): void;
}

function compose(projectName: string, args: string[]): string {
  const result = spawnSync('docker', ['compose', '-p', projectName, '-f', COMPOSE_FILE, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(`docker compose ${args.join(' ')} failed: ${result.stderr.trim().slice(-2000)}`);
  }
  return result.stdout;
}

export function createComposeDriver(projectName: string, service = 'els-worker'): ComposeDriver {
  if (!dockerAvailable()) throw new Error('the Compose driver needs a Docker engine (docker info failed)');
  return {
    up: (replicas) => void compose(projectName, ['up', '-d', '--wait', '--scale', `${service}=${replicas}`]),
    scale: (replicas) =>
      void compose(projectName, ['up', '-d', '--no-recreate', '--scale', `${service}=${replicas}`]),
    replicaIds: () => compose(projectName, ['ps', '-q', service]).split('\n').filter(Boolean),
    kill: (containerId) => {
      spawnSync('docker', ['kill', '--signal', 'SIGKILL', containerId], { stdio: 'ignore' });
    },
    down: () => void compose(projectName, ['down', '-v', '--remove-orphans']),
  };
}
