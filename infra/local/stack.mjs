#!/usr/bin/env node
// Local stack without Docker: PostgreSQL 15, Redis 7 and a single-node Apache Kafka (KRaft) on loopback.
//
//   npm run stack -- up       idempotent; reuses services that already answer, installs missing ones (and
//                             the tools the tests use: nginx, promtool, docker-compose, chromium,
//                             iptables) with apt
//   npm run stack -- status   exits non-zero naming every service that is down
//   npm run stack -- tune-postgres
//                             applies the deployment settings (below) and restarts PostgreSQL if one of them
//                             needs it; `up` applies them too, but restarts only a cluster it started itself
//   npm run stack -- down     stops only what `up` started (by PID / cluster), never a foreign process
//
// The module also exports the same operations (and per-service stop/start) for the distributed suite,
// which restarts PostgreSQL, Redis and Kafka as fault injection.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const cacheDir = process.env.ELS_STACK_CACHE_DIR ?? path.join(repoRoot, '.cache', 'stack');
const kafkaSrcDir = path.join(here, 'kafka');
const kafkaLibsDir = path.join(cacheDir, 'kafka', 'libs');
const kafkaDataDir = path.join(cacheDir, 'kafka', 'data');
const kafkaLogFile = path.join(cacheDir, 'kafka', 'kafka.log');
const kafkaPidFile = path.join(cacheDir, 'kafka', 'kafka.pid');
const redisPidFile = path.join(cacheDir, 'redis', 'redis.pid');
const redisLogFile = path.join(cacheDir, 'redis', 'redis.log');
const stateFile = path.join(cacheDir, 'started.json');

export const endpoints = {
  postgres: { host: '127.0.0.1', port: 5432, url: 'postgres://postgres@127.0.0.1:5432/els' },
  redis: { host: '127.0.0.1', port: 6379, url: 'redis://127.0.0.1:6379' },
  kafka: { host: '127.0.0.1', port: 9092, url: '127.0.0.1:9092' },
};

const KAFKA_READY_TIMEOUT_MS = 90_000;
const SERVICE_READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;

const log = (message) => process.stderr.write(`[stack] ${message}\n`);

function readState() {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return {};
  }
}

function writeState(state) {
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
}

function markStarted(service, value) {
  const state = readState();
  state[service] = value;
  writeState(state);
}

export function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, args, options = {}) {
  return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function tcpAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitUntil(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
    await sleep(250);
  }
}

function pidAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when `pid` is alive and its command line has `marker` (`kafka.Kafka`) or its name is `marker`
 * (`redis-server`, `postgres`). A PID file outlives its process, and with 32,768 PIDs a busy machine hands
 * the number to another process within the hour: signalling it by the file alone once stopped a stranger
 * and left the broker running.
 */
export function pidIs(pid, marker) {
  if (!pidAlive(pid)) return false;
  try {
    const name = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return name === marker || argv.includes(marker);
  } catch {
    return false;
  }
}

function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function stopPid(pid, what) {
  if (!pidAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(200);
  if (pidAlive(pid)) {
    log(`${what} (pid ${pid}) ignored SIGTERM for ${STOP_TIMEOUT_MS} ms; sending SIGKILL`);
    process.kill(pid, 'SIGKILL');
  }
}

function aptInstall(pkg) {
  aptInstallAll([pkg]);
}

// ---------------------------------------------------------------- tools the tests use

// Deployment validation (infra/tests) runs `nginx -t`, `promtool` and `docker-compose config`; the
// distributed suite puts nginx in front of the replicas, renders its report with /usr/bin/chromium, and
// refuses one replica's connections with an iptables rule (the nemesis's net-refuse fault).
const TOOLS = [
  { package: 'nginx-light', present: () => commandExists('nginx') || fs.existsSync('/usr/sbin/nginx') },
  { package: 'prometheus', present: () => commandExists('promtool') },
  { package: 'docker-compose', present: () => commandExists('docker-compose') },
  { package: 'chromium', present: () => fs.existsSync('/usr/bin/chromium') },
  // /usr/sbin is not on every PATH.
  { package: 'iptables', present: () => commandExists('iptables') || fs.existsSync('/usr/sbin/iptables') },
];

/** Installs the missing tools in one apt-get run; when that is impossible, the tests name what is missing. */
function ensureTools() {
  const missing = TOOLS.filter((tool) => !tool.present()).map((tool) => tool.package);
  try {
    aptInstallAll(missing);
  } catch (error) {
    log(`could not install ${missing.join(', ')} (${error.message}); the tests that need them will say so`);
  }
}

/** Installs Debian packages in one apt-get run (nothing when the list is empty); throws when apt fails. */
export function aptInstallAll(packages) {
  if (packages.length === 0) return;
  log(`installing ${packages.join(', ')} with apt-get`);
  run('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

// ---------------------------------------------------------------- PostgreSQL

function postgresClusterVersion() {
  const dir = '/etc/postgresql';
  const versions = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  return versions.at(-1);
}

export async function startPostgres() {
  const { host, port } = endpoints.postgres;
  if (await tcpAnswers(host, port)) return 'reused';
  if (!commandExists('pg_ctlcluster') || !postgresClusterVersion()) aptInstall('postgresql');
  const version = postgresClusterVersion();
  if (!version) throw new Error('PostgreSQL is installed but no cluster exists under /etc/postgresql');
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
  await waitUntil('PostgreSQL', () => tcpAnswers(host, port), SERVICE_READY_TIMEOUT_MS);
  return 'started';
}

export async function stopPostgres() {
  const version = postgresClusterVersion();
  if (version) run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'stop', '-m', 'fast']);
}

/**
 * What a deployment runs PostgreSQL with, sized for this machine: autovacuum on, a quarter of the memory
 * for shared buffers (at most 8 GB), half as the planner's cache estimate, room for maintenance and
 * checkpoints. A stock Debian cluster has 128 MB of shared buffers, and a machine's may have autovacuum off;
 * measurements of the database's share would then say little about a deployment.
 */
export function deploymentPostgresSettings(totalBytes = os.totalmem()) {
  const mb = Math.floor(totalBytes / 1024 / 1024);
  return {
    autovacuum: 'on',
    shared_buffers: `${Math.min(Math.floor(mb / 4), 8192)}MB`,
    effective_cache_size: `${Math.floor(mb / 2)}MB`,
    maintenance_work_mem: `${Math.min(Math.floor(mb / 16), 1024)}MB`,
    max_wal_size: '4GB',
  };
}

/**
 * Sets the deployment settings (ALTER SYSTEM, then a reload). A setting that takes effect only at a restart
 * (shared buffers) is applied by restarting the cluster when `mayRestart`, else named in a log line.
 */
async function tunePostgres({ mayRestart }) {
  const wanted = deploymentPostgresSettings();
  for (const [name, value] of Object.entries(wanted)) psql(`alter system set ${name} = '${value}'`);
  psql('select pg_reload_conf()');
  // The reload is asynchronous: give the postmaster a moment before asking what still waits for a restart.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const pending = psql("select string_agg(name, ',') from pg_settings where pending_restart");
  if (!pending) return 'tuned';
  if (!mayRestart) {
    log(`PostgreSQL needs a restart for ${pending}: npm run stack -- tune-postgres`);
    return 'tuned (restart pending)';
  }
  const version = postgresClusterVersion();
  if (!version)
    throw new Error(`PostgreSQL needs a restart for ${pending}, but no cluster is under /etc/postgresql`);
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart', '-m', 'fast']);
  const { host, port } = endpoints.postgres;
  await waitUntil('PostgreSQL', () => tcpAnswers(host, port), SERVICE_READY_TIMEOUT_MS);
  log(`restarted PostgreSQL for ${pending}`);
  return 'tuned and restarted';
}

function psql(sql, database = 'postgres') {
  return run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-tAc', sql]).trim();
}

function ensureDatabase(name) {
  if (psql(`select 1 from pg_database where datname = '${name}'`) !== '1') {
    psql(`create database "${name}"`);
    log(`created database ${name}`);
  }
}

// ---------------------------------------------------------------- Redis

export async function startRedis() {
  const { host, port } = endpoints.redis;
  if (await tcpAnswers(host, port)) return 'reused';
  if (!commandExists('redis-server')) aptInstall('redis-server');
  fs.mkdirSync(path.dirname(redisPidFile), { recursive: true });
  run('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    path.dirname(redisPidFile),
    '--pidfile',
    redisPidFile,
    '--logfile',
    redisLogFile,
  ]);
  await waitUntil('Redis', () => tcpAnswers(host, port), SERVICE_READY_TIMEOUT_MS);
  return 'started';
}

/** Stops Redis: ours by PID, a foreign one (fault injection only) through `redis-cli shutdown`. */
export async function stopRedis() {
  const pid = readPid(redisPidFile);
  if (pidIs(pid, 'redis-server')) return stopPid(pid, 'Redis');
  spawnSync(
    'redis-cli',
    ['-h', endpoints.redis.host, '-p', String(endpoints.redis.port), 'shutdown', 'nosave'],
    {
      stdio: 'ignore',
    },
  );
  await waitUntil(
    'Redis to stop',
    async () => !(await tcpAnswers(endpoints.redis.host, endpoints.redis.port)),
    STOP_TIMEOUT_MS,
  );
}

// ---------------------------------------------------------------- Kafka

function ensureKafkaJars() {
  if (fs.existsSync(kafkaLibsDir) && fs.readdirSync(kafkaLibsDir).some((f) => f.startsWith('kafka_2.13-')))
    return;
  if (!commandExists('mvn')) aptInstall('maven');
  log('resolving Apache Kafka jars with Maven (first run only)');
  fs.mkdirSync(kafkaLibsDir, { recursive: true });
  run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      path.join(kafkaSrcDir, 'pom.xml'),
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${kafkaLibsDir}`,
    ],
    { stdio: 'inherit' },
  );
}

function java(args, options = {}) {
  return run('java', ['-cp', path.join(kafkaLibsDir, '*'), ...args], options);
}

function ensureKafkaFormatted() {
  if (fs.existsSync(path.join(kafkaDataDir, 'meta.properties'))) return;
  fs.mkdirSync(kafkaDataDir, { recursive: true });
  const toolsLog = `-Dlog4j2.configurationFile=${path.join(kafkaSrcDir, 'tools-log4j2.yaml')}`;
  const clusterId = java([toolsLog, 'kafka.tools.StorageTool', 'random-uuid']).trim();
  const config = path.join(cacheDir, 'kafka', 'server.properties');
  fs.writeFileSync(
    config,
    `${fs.readFileSync(path.join(kafkaSrcDir, 'server.properties'), 'utf8')}\nlog.dirs=${kafkaDataDir}\n`,
  );
  java([toolsLog, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', config]);
  log(`formatted Kafka storage (cluster ${clusterId})`);
}

async function kafkaProtocolReady() {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    clientId: 'els-stack',
    brokers: [endpoints.kafka.url],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.some((b) => b.nodeId === 1);
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka() {
  const { host, port } = endpoints.kafka;
  if (await tcpAnswers(host, port)) {
    await waitUntil('Kafka', kafkaProtocolReady, KAFKA_READY_TIMEOUT_MS);
    return 'reused';
  }
  // A broker that stopKafka stopped comes back as it was (same data dir, same topics), even when another
  // checkout started it: a fault test's stop/start must not swap the broker for an empty one.
  const stopped = readStoppedBroker();
  if (stopped) {
    await spawnBroker(stopped.argv, stopped.cwd);
    fs.rmSync(stoppedBrokerFile, { force: true });
    return 'started';
  }
  if (!commandExists('java')) aptInstall('openjdk-17-jre-headless');
  ensureKafkaJars();
  ensureKafkaFormatted();
  const config = path.join(cacheDir, 'kafka', 'server.properties');
  const out = fs.openSync(kafkaLogFile, 'a');
  const child = spawn(
    'java',
    [
      `-Xms256m`,
      `-Xmx${process.env.ELS_STACK_KAFKA_HEAP ?? '768m'}`,
      '-server',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${path.dirname(kafkaLogFile)}`,
      `-Dlog4j2.configurationFile=${path.join(kafkaSrcDir, 'log4j2.yaml')}`,
      '-cp',
      path.join(kafkaLibsDir, '*'),
      'kafka.Kafka',
      config,
      '--override',
      `log.dirs=${kafkaDataDir}`,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  fs.writeFileSync(kafkaPidFile, String(child.pid));
  try {
    await waitUntil(
      'Kafka port 9092',
      async () => {
        if (!pidAlive(child.pid)) throw new Error(`Kafka exited during start-up; see ${kafkaLogFile}`);
        return tcpAnswers(host, port);
      },
      KAFKA_READY_TIMEOUT_MS,
    );
    await waitUntil('Kafka metadata request', kafkaProtocolReady, KAFKA_READY_TIMEOUT_MS);
  } catch (error) {
    const tail = fs.readFileSync(kafkaLogFile, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`${error.message}\n--- last lines of ${kafkaLogFile} ---\n${tail}`);
  }
  return 'started';
}

/** The postmaster's PID: Debian's external PID file, else the first line of the data directory's. */
function postmasterPid() {
  const version = postgresClusterVersion();
  if (!version) return undefined;
  const external = readPid(`/run/postgresql/${version}-main.pid`);
  if (pidIs(external, 'postgres')) return external;
  try {
    const first = fs
      .readFileSync(`/var/lib/postgresql/${version}/main/postmaster.pid`, 'utf8')
      .split('\n')[0];
    const pid = Number(first);
    return pidIs(pid, 'postgres') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Direct children of a process, from /proc. */
function childPids(parent) {
  const children = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces; the parent PID is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return children;
}

function killHard(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Fault injection: a hard crash of PostgreSQL. SIGKILL to the postmaster and every backend at once (no
 * checkpoint, no clean shutdown), then a start that runs crash recovery from the WAL. Resolves once it
 * answers again.
 */
export async function crashPostgres() {
  const pid = postmasterPid();
  if (!pid) throw new Error('no running PostgreSQL postmaster to crash');
  const victims = [pid, ...childPids(pid)];
  killHard(victims);
  await waitUntil(
    'PostgreSQL processes to die',
    async () => victims.every((p) => !pidAlive(p)),
    STOP_TIMEOUT_MS,
  );
  await startPostgres();
}

/**
 * Fault injection: a hard crash of the Kafka broker (SIGKILL, no controlled shutdown), then the same
 * command line started again; the broker recovers its logs. Resolves once it answers again.
 */
export async function crashKafka() {
  const pid = kafkaBrokerPid();
  if (!pid) throw new Error('no running Kafka broker to crash');
  const { argv, cwd } = brokerCommand(pid);
  fs.writeFileSync(stoppedBrokerFile, JSON.stringify({ argv, cwd }));
  killHard([pid]);
  await waitUntil('Kafka to die', async () => !pidAlive(pid), STOP_TIMEOUT_MS);
  fs.rmSync(stoppedBrokerFile, { force: true });
  await spawnBroker(argv, cwd);
}

/**
 * The PID of the running broker: ours (pid file) or, for fault injection against a broker another
 * checkout started, the JVM whose command line runs `kafka.Kafka`.
 */
function kafkaBrokerPid() {
  const own = readPid(kafkaPidFile);
  if (pidIs(own, 'kafka.Kafka')) return own;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes('kafka.Kafka')) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}

/** Where stopKafka records the stopped broker's command line, for every checkout on this machine. */
const stoppedBrokerFile = path.join(os.tmpdir(), 'els-stack-stopped-kafka.json');

function brokerCommand(pid) {
  const argv = fs
    .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((arg) => arg.length > 0);
  return { argv, cwd: fs.readlinkSync(`/proc/${pid}/cwd`) };
}

function readStoppedBroker() {
  try {
    const recorded = JSON.parse(fs.readFileSync(stoppedBrokerFile, 'utf8'));
    const classpath = recorded.argv?.[recorded.argv.indexOf('-cp') + 1];
    // The checkout that started it may be gone (a deleted clone): then start our own.
    return classpath && fs.existsSync(path.dirname(classpath)) && fs.existsSync(recorded.cwd)
      ? recorded
      : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a broker with a given command line and working directory; resolves once it answers. */
async function spawnBroker(argv, cwd) {
  fs.mkdirSync(path.dirname(kafkaLogFile), { recursive: true });
  const out = fs.openSync(kafkaLogFile, 'a');
  const [command, ...args] = argv;
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out] });
  child.unref();
  fs.writeFileSync(kafkaPidFile, String(child.pid));
  await waitUntil(
    'Kafka port 9092',
    () => tcpAnswers(endpoints.kafka.host, endpoints.kafka.port),
    KAFKA_READY_TIMEOUT_MS,
  );
  await waitUntil('Kafka metadata request', kafkaProtocolReady, KAFKA_READY_TIMEOUT_MS);
}

export async function stopKafka() {
  const pid = kafkaBrokerPid();
  if (pid) fs.writeFileSync(stoppedBrokerFile, JSON.stringify(brokerCommand(pid)));
  await stopPid(pid, 'Kafka');
  await waitUntil(
    'Kafka to stop',
    async () => !(await tcpAnswers(endpoints.kafka.host, endpoints.kafka.port)),
    STOP_TIMEOUT_MS,
  );
}

/**
 * Fault injection: stops the running broker and starts it again with exactly its own command line and
 * working directory (same data dir, same topics), whoever started it. Resolves once it answers again.
 */
export async function restartKafka() {
  const pid = kafkaBrokerPid();
  if (!pid) throw new Error('no running Kafka broker to restart');
  const { argv, cwd } = brokerCommand(pid);
  await stopKafka();
  fs.rmSync(stoppedBrokerFile, { force: true });
  await spawnBroker(argv, cwd);
}

// ---------------------------------------------------------------- commands

export async function up({ quiet = false } = {}) {
  const started = Date.now();
  ensureTools();
  const pg = await startPostgres();
  if (pg === 'started') markStarted('postgres', true);
  await tunePostgres({ mayRestart: pg === 'started' });
  ensureDatabase('els');
  const redis = await startRedis();
  if (redis === 'started') markStarted('redis', true);
  const kafka = await startKafka();
  if (kafka === 'started') markStarted('kafka', true);
  if (!quiet) {
    log(`postgres ${pg}, redis ${redis}, kafka ${kafka} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.stdout.write(
      [
        `ELS_DATABASE_URL=${endpoints.postgres.url}`,
        `ELS_REDIS_URL=${endpoints.redis.url}`,
        `ELS_KAFKA_BROKERS=${endpoints.kafka.url}`,
      ].join('\n') + '\n',
    );
  }
}

export async function status() {
  const down = [];
  if (!(await tcpAnswers(endpoints.postgres.host, endpoints.postgres.port))) down.push('postgres');
  if (!(await tcpAnswers(endpoints.redis.host, endpoints.redis.port))) down.push('redis');
  if (!(await kafkaProtocolReady())) down.push('kafka');
  return down;
}

export async function down() {
  const state = readState();
  if (state.kafka) {
    await stopKafka();
    fs.rmSync(stoppedBrokerFile, { force: true });
  }
  if (state.redis) await stopRedis();
  if (state.postgres) await stopPostgres();
  writeState({});
  log(
    `stopped: ${
      Object.keys(state)
        .filter((k) => state[k])
        .join(', ') || 'nothing (all services were reused)'
    }`,
  );
}

async function main() {
  const command = process.argv[2] ?? 'up';
  if (command === 'up') await up();
  else if (command === 'down') await down();
  else if (command === 'tune-postgres') {
    await startPostgres();
    log(`postgres ${await tunePostgres({ mayRestart: true })}`);
  } else if (command === 'status') {
    const downServices = await status();
    for (const service of ['postgres', 'redis', 'kafka']) {
      process.stdout.write(`${service}: ${downServices.includes(service) ? 'DOWN' : 'up'}\n`);
    }
    if (downServices.length > 0) {
      process.stderr.write(`down: ${downServices.join(', ')}\n`);
      process.exitCode = 1;
    }
  } else {
    process.stderr.write(`unknown command "${command}"; use: up | down | status | tune-postgres\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`[stack] ${error.message}\n`);
    process.exit(1);
  });
}
