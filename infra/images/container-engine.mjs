// The container engine for the local images and the Compose driver: rootful Podman with its Docker-
// compatible API service, so docker-compose 1.29 (and anything else speaking the Docker API) can drive it.
// No systemd here: the API service is a background process of its own, started on demand and reused, and
// so is the health ticker: Podman runs container health checks from systemd timers, so without systemd a
// health check never runs and a `condition: service_healthy` waits forever; the ticker runs each running
// container's check (`podman healthcheck run`) at the interval the container declares.
//
//   node infra/images/container-engine.mjs up       install what is missing, start the API service
//   node infra/images/container-engine.mjs env      print DOCKER_HOST and CONTAINERS_CONF for a shell
//   node infra/images/container-engine.mjs down     stop the API service (images and volumes stay)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { aptInstallAll, commandExists } from '../local/stack.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const runDir = process.env.ELS_ENGINE_RUN_DIR ?? '/run/els-podman';
export const socketPath = path.join(runDir, 'podman.sock');
const pidFile = path.join(runDir, 'service.pid');
const serviceLog = path.join(runDir, 'service.log');
const tickerPidFile = path.join(runDir, 'health-ticker.pid');
const tickerLog = path.join(runDir, 'health-ticker.log');
const TICK_MS = 1000;
const SERVICE_START_TIMEOUT_MS = 30_000;

/** Environment for podman, docker-compose and the suite's engine calls. */
export const engineEnv = {
  CONTAINERS_CONF: path.join(here, 'containers.conf'),
  DOCKER_HOST: `unix://${socketPath}`,
};

const log = (message) => console.error(`[engine] ${message}`);

// Debian packages: podman with runc (crun cannot run on a cgroup v1 hybrid host), netavark and
// aardvark-dns for networks with name resolution, iptables (netavark programs each network's NAT and
// port forwards with it; without it every container start fails "netavark: No such file or directory"),
// mmdebstrap for the base image, docker-compose 1.29.
const PACKAGES = [
  { package: 'podman', command: 'podman' },
  { package: 'runc', command: 'runc' },
  { package: 'netavark', path: '/usr/lib/podman/netavark' },
  { package: 'aardvark-dns', path: '/usr/lib/podman/aardvark-dns' },
  { package: 'iptables', command: 'iptables' },
  { package: 'mmdebstrap', command: 'mmdebstrap' },
  { package: 'docker-compose', command: 'docker-compose' },
  { package: 'uidmap', command: 'newuidmap' },
];

export function ensureEnginePackages() {
  const missing = PACKAGES.filter((p) => (p.command ? !commandExists(p.command) : !fs.existsSync(p.path)));
  aptInstallAll(missing.map((p) => p.package));
}

/** Runs podman with the project's engine configuration; returns its stdout. */
export function podman(args, options = {}) {
  return execFileSync('podman', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    ...options,
    env: { ...process.env, ...engineEnv, ...options.env },
  });
}

function ping() {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}

function pidAlive(file) {
  const pid = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : NaN;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startHealthTicker() {
  if (pidAlive(tickerPidFile)) return;
  const out = fs.openSync(tickerLog, 'a');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'health-ticker'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...engineEnv },
  });
  child.unref();
  fs.writeFileSync(tickerPidFile, String(child.pid));
}

/** Runs health checks as systemd's timers would: each running container's, every interval it declares. */
async function healthTicker() {
  const lastRun = new Map();
  const intervalOf = new Map();
  const running = new Set();
  for (;;) {
    let ids = [];
    try {
      ids = podman(['ps', '-q', '--no-trunc']).split('\n').filter(Boolean);
    } catch (error) {
      console.error(`[health-ticker] podman ps failed: ${error.message}`);
    }
    for (const id of ids) {
      if (!intervalOf.has(id)) {
        try {
          const check = JSON.parse(podman(['inspect', '--format', '{{json .Config.Healthcheck}}', id]));
          const test = check?.Test ?? [];
          intervalOf.set(
            id,
            test.length === 0 || test[0] === 'NONE' ? 0 : Math.max(1, (check.Interval ?? 30e9) / 1e6),
          );
        } catch {
          continue;
        }
      }
      const interval = intervalOf.get(id);
      if (!interval || running.has(id) || Date.now() - (lastRun.get(id) ?? 0) < interval) continue;
      lastRun.set(id, Date.now());
      running.add(id);
      const child = spawn('podman', ['healthcheck', 'run', id], {
        stdio: 'ignore',
        env: { ...process.env, ...engineEnv },
      });
      child.on('close', () => running.delete(id));
      child.on('error', () => running.delete(id));
    }
    for (const id of [...intervalOf.keys()]) if (!ids.includes(id)) intervalOf.delete(id);
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

/**
 * Installs what is missing, starts the API service unless one already answers on the socket, and the
 * health ticker unless it runs.
 */
export async function engineUp() {
  ensureEnginePackages();
  fs.mkdirSync(runDir, { recursive: true });
  startHealthTicker();
  if (await ping()) return 'reused';
  fs.rmSync(socketPath, { force: true });
  const out = fs.openSync(serviceLog, 'a');
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...engineEnv },
  });
  child.unref();
  fs.writeFileSync(pidFile, String(child.pid));
  const deadline = Date.now() + SERVICE_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ping()) return 'started';
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the Podman API service did not answer on ${socketPath}; see ${serviceLog}`);
}

export function engineDown() {
  for (const file of [tickerPidFile, pidFile]) {
    if (pidAlive(file)) process.kill(Number(fs.readFileSync(file, 'utf8')), 'SIGTERM');
    fs.rmSync(file, { force: true });
  }
}

async function main() {
  const command = process.argv[2] ?? 'up';
  if (command === 'up') {
    log(`Podman API service ${await engineUp()} on ${socketPath}`);
  } else if (command === 'env') {
    for (const [name, value] of Object.entries(engineEnv)) console.log(`export ${name}=${value}`);
  } else if (command === 'health-ticker') {
    await healthTicker();
  } else if (command === 'down') {
    engineDown();
    log('Podman API service stopped');
  } else {
    throw new Error(`unknown command ${command}; use up, env or down`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`[engine] ${error.message}`);
    process.exit(1);
  });
}
