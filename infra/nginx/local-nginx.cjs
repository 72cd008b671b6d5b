// nginx as a plain child process in front of els-worker replicas listening on loopback ports: renders
// local-upstream.conf.template into a private prefix folder, checks it with `nginx -t`, starts nginx in
// the foreground and waits until it answers. CommonJS so jest tests (CommonJS) can require it; the ES
// module render-local.mjs re-exports it and is the command line.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const TEMPLATE_PATH = path.join(__dirname, 'local-upstream.conf.template');
const UPSTREAM_PATTERN = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** The nginx binary, or undefined when none is installed (Debian: `apt-get install -y nginx-light`). */
function findNginx(binary = process.env.NGINX_BINARY || 'nginx') {
  const candidates = binary.includes('/')
    ? [binary]
    : [binary, `/usr/sbin/${binary}`, `/usr/local/sbin/${binary}`];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/** The configuration text for `upstreams` (host:port strings) behind `listenHost:listenPort`. */
function renderLocalConfig({
  upstreams,
  listenPort,
  listenHost = '127.0.0.1',
  prefixDir,
  workerProcesses = 1,
}) {
  if (!Array.isArray(upstreams) || upstreams.length === 0)
    throw new RangeError('upstreams must name at least one host:port');
  for (const upstream of upstreams) {
    if (!UPSTREAM_PATTERN.test(upstream)) throw new RangeError(`upstream "${upstream}" is not host:port`);
  }
  if (!Number.isInteger(listenPort) || listenPort < 1 || listenPort > 65_535) {
    throw new RangeError(`listenPort ${listenPort} is not a port number`);
  }
  if (!path.isAbsolute(prefixDir)) throw new RangeError('prefixDir must be an absolute path');
  const servers = upstreams
    .map((upstream) => `    server ${upstream} max_fails=1 fail_timeout=2s;`)
    .join('\n');
  const values = {
    PREFIX: prefixDir,
    LISTEN_HOST: listenHost,
    LISTEN_PORT: String(listenPort),
    UPSTREAM_SERVERS: servers,
    WORKER_PROCESSES: String(workerProcesses),
  };
  const text = fs.readFileSync(TEMPLATE_PATH, 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (whole, key) => {
    if (!(key in values)) throw new RangeError(`template placeholder ${whole} has no value`);
    return values[key];
  });
  return text;
}

function freePort(host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function healthy(url) {
  return new Promise((resolve) => {
    const request = http.get(`${url}/nginx-health`, { timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

/**
 * Starts nginx load-balancing round-robin over `upstreams`. Resolves once it answers on its port with
 * `{ url, port, prefixDir, configPath, pid, stop }`; `stop()` ends it gracefully (SIGQUIT, then SIGKILL
 * after 10 s), removes the prefix folder unless `keepPrefix`, and is idempotent.
 */
async function startLocalNginx(options) {
  const nginx = findNginx(options.nginxBinary);
  if (!nginx) throw new Error('nginx is not installed (Debian: apt-get install -y nginx-light)');
  const listenHost = options.listenHost ?? '127.0.0.1';
  const listenPort = options.listenPort || (await freePort(listenHost));
  const prefixDir = options.prefixDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'els-nginx-'));
  fs.mkdirSync(prefixDir, { recursive: true });
  const configPath = path.join(prefixDir, 'nginx.conf');
  fs.writeFileSync(
    configPath,
    renderLocalConfig({
      ...options,
      listenHost,
      listenPort,
      prefixDir,
      workerProcesses: options.workerProcesses ?? 1,
    }),
  );
  const args = ['-p', prefixDir, '-c', configPath, '-e', path.join(prefixDir, 'error.log')];
  const check = spawnSync(nginx, ['-t', ...args], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t rejected ${configPath}:\n${check.stderr}`);

  const child = spawn(nginx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  exited.then(() => (running = false));

  const url = `http://${listenHost}:${listenPort}`;
  const stop = once(async () => {
    if (running) {
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    if (!options.keepPrefix) fs.rmSync(prefixDir, { recursive: true, force: true });
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await healthy(url))) {
    if (!running || Date.now() > deadline) {
      const log = readIfExists(path.join(prefixDir, 'error.log'));
      await stop();
      throw new Error(`nginx did not start on ${url}: ${stderr}${log}`.trim());
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, port: listenPort, prefixDir, configPath, pid: child.pid, stop };
}

function once(fn) {
  let result;
  return () => (result ??= fn());
}

function readIfExists(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

module.exports = { TEMPLATE_PATH, findNginx, renderLocalConfig, startLocalNginx };
