import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '@els/test-kit';
import { COMPOSE_PORTS, COMPOSE_PROJECT } from './compose-endpoints';
import { repoRoot } from './paths';

/**
 * The Compose driver's view of the container engine: docker-compose with infra/compose/distributed-test.yml
 * and local-images.yml (project COMPOSE_PROJECT, ports COMPOSE_PORTS), and podman for the faults (kill,
 * pause, stop, start of one container). The engine's socket and configuration come from
 * infra/images/container-engine.mjs, which also starts the API service and its health ticker.
 */

const engineScript = path.join(repoRoot, 'infra', 'images', 'container-engine.mjs');
const composeDir = path.join(repoRoot, 'infra', 'compose');
const COMMAND_TIMEOUT_MS = 180_000;

let cachedEnv: Record<string, string> | undefined;

/** DOCKER_HOST and CONTAINERS_CONF, after starting the engine's API service if it is not running. */
export function engineEnvironment(): Record<string, string> {
  if (cachedEnv) return cachedEnv;
  execFileSync(process.execPath, [engineScript, 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const env: Record<string, string> = {};
  const printed = execFileSync(process.execPath, [engineScript, 'env'], { encoding: 'utf8' });
  for (const line of printed.split('\n')) {
    const match = /^export (\w+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) env[match[1]] = match[2];
  }
  cachedEnv = env;
  return env;
}

function commandEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...engineEnvironment() };
  for (const [name, port] of Object.entries(COMPOSE_PORTS)) env[name] = String(port);
  return env;
}

function run(command: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: commandEnv(), cwd: repoRoot, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${command} ${args.join(' ')} failed: ${String(stderr).trim().slice(-2000) || error.message}`,
            ),
          );
        } else resolve(String(stdout));
      },
    );
  });
}

/** docker-compose on the suite's project, with the run's extra override files. */
export function compose(args: readonly string[], extraFiles: readonly string[] = []): Promise<string> {
  const files = ['distributed-test.yml', 'local-images.yml'].map((file) => path.join(composeDir, file));
  return run('docker-compose', [
    '-p',
    COMPOSE_PROJECT,
    ...[...files, ...extraFiles].flatMap((file) => ['-f', file]),
    ...args,
  ]);
}

export function podman(args: readonly string[], timeoutMs?: number): Promise<string> {
  return run('podman', args, timeoutMs);
}

/** The container docker-compose names `<project>_<service>_<n>`. */
export function serviceContainer(service: string, index = 1): string {
  return `${COMPOSE_PROJECT}_${service}_${index}`;
}

/** Waits until the container's own health check passes (run on demand, as the engine would). */
export async function waitHealthy(container: string, timeoutMs = 150_000): Promise<void> {
  await waitFor(
    `${container} to pass its health check`,
    () =>
      podman(['healthcheck', 'run', container], 30_000).then(
        () => true,
        () => false,
      ),
    { timeoutMs, intervalMs: 1000 },
  );
}

const INFRA_SERVICES = ['postgres', 'redis', 'kafka'] as const;
export type InfraService = (typeof INFRA_SERVICES)[number];

/**
 * Brings up the stack's shared services (PostgreSQL, Redis, Kafka, nginx, Prometheus) and waits for the
 * data services' health checks; the replicas come per scenario. Fails with the command to run when the
 * local images are missing.
 */
export async function composeInfraUp(): Promise<void> {
  const missing: string[] = [];
  for (const image of ['localhost/els-worker:local', 'localhost/els-local/kafka:4.1.1']) {
    await podman(['image', 'exists', image]).catch(() => missing.push(image));
  }
  if (missing.length > 0) {
    throw new Error(
      `E2E_DRIVER=compose needs the local images (${missing.join(', ')} missing): run npm run images`,
    );
  }
  await compose(['up', '-d', '--no-build', ...INFRA_SERVICES]);
  for (const service of INFRA_SERVICES) await waitHealthy(serviceContainer(service));
  // nginx and Prometheus depend on els-worker in the Compose file; here they start without it and find
  // each scenario's replicas through DNS.
  await compose(['up', '-d', '--no-build', '--no-deps', 'nginx', 'prometheus']);
}

/** Faults on the shared services, with the engine: each returns once the service is healthy again. */
export const composeServiceFaults = {
  async stop(service: InfraService): Promise<void> {
    await podman(['stop', '-t', '30', serviceContainer(service)]);
  },
  async start(service: InfraService): Promise<void> {
    await podman(['start', serviceContainer(service)]);
    await waitHealthy(serviceContainer(service));
  },
  async restart(service: InfraService): Promise<void> {
    await podman(['restart', '-t', '30', serviceContainer(service)]);
    await waitHealthy(serviceContainer(service));
  },
  /** SIGKILL of the container's processes, then the same container started again (crash recovery). */
  async crash(service: InfraService): Promise<void> {
    await podman(['kill', '-s', 'KILL', serviceContainer(service)]);
    await podman(['wait', serviceContainer(service)]).catch(() => undefined);
    await podman(['start', serviceContainer(service)]);
    await waitHealthy(serviceContainer(service));
  },
};
