import { SUITE_WORKER_SETTINGS } from './worker-settings';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '@els/test-kit';
import { KAFKA_BROKERS, REDIS_URL, repoRoot, workerEntry } from './paths';
import { createCpuGroup, findCpuController, type CpuGroup, type CpuThrottling } from './cpu-cap';

/**
 * Process driver: every replica of the worker is its own OS process (own PID, HTTP port and instance id),
 * all in one consumer group, each writing its JSON log to its own file. Fault controls act on the real
 * processes (SIGKILL, SIGSTOP/SIGCONT, restart).
 */

export interface ClusterOptions {
  /** Label used in instance ids and log file names. */
  label: string;
  replicas: number;
  databaseUrl: string;
  topicPrefix: string;
  consumerGroup: string;
  logDir: string;
  /** Extra ELS_* settings for every replica. */
  env?: Record<string, string>;
  /** Bound on waiting for one replica's /readyz. */
  readyTimeoutMs?: number;
  /** Told about every process the cluster spawns (for a leak guard). */
  onSpawn?: (child: ChildProcess) => void;
  /**
   * Where replica `index` reaches PostgreSQL, Redis and Kafka, when not directly (the nemesis routes each replica
   * through fault proxies of its own). Asked at every spawn of that replica.
   */
  endpointsFor?: (index: number) => { databaseUrl?: string; redisUrl?: string; kafkaBrokers?: string };
  /**
   * Caps every replica at this many cores (0.2 = a fifth of one), each in a control group of its own
   * (`cpu-cap.ts`), so the replica tier is the bottleneck. Unset: uncapped. Creating the cluster fails
   * when the machine cannot cap a process (no cgroup cpu controller, not root), rather than run uncapped.
   */
  replicaCpus?: number;
}

/** How the CPU cap of one replica held: its cap and the throttling counters of its control group. */
export interface ReplicaThrottling extends CpuThrottling {
  instanceId: string;
  cpus: number;
}

export type ReplicaState = 'running' | 'paused' | 'stopped';

export interface Replica {
  readonly index: number;
  readonly instanceId: string;
  readonly logFile: string;
  pid: number | undefined;
  port: number | undefined;
  /** The address the replica listens on (its container's, under the Compose driver); 127.0.0.1 when unset. */
  address?: string | undefined;
  state: ReplicaState;
  child: ChildProcess | undefined;
}

export interface ReadinessBody {
  ready: boolean;
  instanceId: string;
  dependencies: {
    database: { ok: boolean; readOnly?: boolean };
    schema: { ok: boolean };
    kafka: { ok: boolean; joined: boolean };
    redis: { ok: boolean; degraded: boolean };
  };
}

export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
}

export interface Readiness {
  status: number;
  body: ReadinessBody | undefined;
}

export interface WorkerCluster {
  readonly replicas: readonly Replica[];
  /** Applies the schema and creates the topics with the worker's own `migrate` command. */
  migrate(): Promise<void>;
  /** Starts every replica and waits for all of them to be ready. */
  start(): Promise<void>;
  /** Adds one replica (scale out) and waits for it to be ready. */
  addReplica(): Promise<Replica>;
  waitReady(index: number, timeoutMs?: number): Promise<void>;
  readiness(index: number): Promise<Readiness>;
  httpGet(index: number, urlPath: string): Promise<{ status: number; body: unknown }>;
  kill(index: number): Promise<void>;
  pause(index: number): void;
  resume(index: number): void;
  restart(index: number): Promise<void>;
  /** Starts a replica that has stopped (after `terminate`) and waits for it to be ready. */
  startReplica(index: number): Promise<void>;
  /** SIGTERM to one replica; resolves with how it exited and how long it took (SIGKILL after `killAfterMs`). */
  terminate(index: number, killAfterMs?: number): Promise<ReplicaExit>;
  /** SIGTERM to every replica (SIGKILL after the grace period); resolves when all have exited. */
  stop(): Promise<void>;
  /** Every PID any replica has had, in start order. */
  pids(): number[];
  /** Resident set size of a replica in bytes, from /proc. */
  rssBytes(index: number): number | undefined;
  /** The exit codes of replicas that exited without being told to. */
  unexpectedExits(): string[];
  /** Per capped replica, its cap and how often it was held to it (empty when the replicas are uncapped). */
  cpuThrottling?(): ReplicaThrottling[];
  /** Releases what the cluster holds beyond its processes (the replicas' control groups). After `stop`. */
  dispose?(): void;
  /** The containers of the replicas (`name id`), under the Compose driver. */
  containerIds?(): string[];
  /** The deployment's own load balancer in front of the replicas (the Compose stack's nginx), if it has one. */
  loadBalancerUrl?: string;
}

const STOP_GRACE_MS = 20_000;

/** The worker rejects unknown ELS_* keys, so the child environment keeps none of the parent's. */
function baseEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ELS_')) env[key] = value;
  }
  return env;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= offset) return '';
      const buffer = Buffer.alloc(size - offset);
      fs.readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Resident set size of a process in bytes, from /proc (undefined once it is gone). */
export function rssOfPid(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function createWorkerCluster(options: ClusterOptions): WorkerCluster {
  fs.mkdirSync(options.logDir, { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const replicas: Replica[] = [];
  const allPids: number[] = [];
  const intentional = new Set<ChildProcess>();
  const unexpected: string[] = [];
  /** Byte offset of each replica's log where its current process began writing. */
  const logOffsets = new Map<number, number>();
  const controller = options.replicaCpus === undefined ? undefined : findCpuController();
  if (typeof controller === 'string') {
    throw new Error(
      `replicas capped at ${options.replicaCpus} cores, but this machine cannot cap them: ${controller}`,
    );
  }
  /** Each replica's control group, created at its first start and kept across its restarts. */
  const cpuGroups = new Map<number, CpuGroup>();
  const capped = (replica: Replica, pid: number): void => {
    if (!controller || options.replicaCpus === undefined) return;
    let group = cpuGroups.get(replica.index);
    if (!group) {
      group = createCpuGroup(controller, `els-${process.pid}-${replica.instanceId}`, options.replicaCpus);
      cpuGroups.set(replica.index, group);
    }
    group.add(pid);
  };

  const env = (replica: Replica): NodeJS.ProcessEnv => ({
    ...baseEnvironment(),
    ELS_DATABASE_URL: options.databaseUrl,
    ELS_REDIS_URL: REDIS_URL,
    ...(replica.index >= 0 ? routedEndpoints(replica.index) : {}),
    ELS_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
    ELS_HTTP_PORT: '0',
    ELS_HTTP_HOST: '127.0.0.1',
    ELS_INSTANCE_ID: replica.instanceId,
    ELS_CONSUMER_GROUP: options.consumerGroup,
    ELS_TOPIC_PREFIX: options.topicPrefix,
    ...SUITE_WORKER_SETTINGS,
    ...options.env,
  });

  const routedEndpoints = (index: number): NodeJS.ProcessEnv => {
    const routed = options.endpointsFor?.(index) ?? {};
    return {
      ...(routed.databaseUrl ? { ELS_DATABASE_URL: routed.databaseUrl } : {}),
      ...(routed.redisUrl ? { ELS_REDIS_URL: routed.redisUrl } : {}),
      ...(routed.kafkaBrokers ? { ELS_KAFKA_BROKERS: routed.kafkaBrokers } : {}),
    };
  };

  const spawnReplica = (replica: Replica): void => {
    logOffsets.set(replica.index, fileSize(replica.logFile));
    const out = fs.openSync(replica.logFile, 'a');
    // BENCH_NODE_ARGS: extra Node flags for the replicas (e.g. --cpu-prof), for profiling a run.
    const nodeArgs = process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, workerEntry, 'start'], {
      cwd: repoRoot,
      env: env(replica),
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    options.onSpawn?.(child);
    if (child.pid !== undefined) capped(replica, child.pid);
    replica.child = child;
    replica.pid = child.pid;
    replica.port = undefined;
    replica.state = 'running';
    if (child.pid !== undefined) allPids.push(child.pid);
    child.once('exit', (code, signal) => {
      if (replica.child === child) replica.state = 'stopped';
      if (!intentional.has(child)) {
        unexpected.push(`${replica.instanceId} (pid ${child.pid}) exited with ${signal ?? code}`);
      }
    });
  };

  const newReplica = (): Replica => {
    const index = replicas.length;
    const instanceId = `${options.label}-r${index + 1}`;
    const replica: Replica = {
      index,
      instanceId,
      logFile: path.join(options.logDir, `${instanceId}.log`),
      pid: undefined,
      port: undefined,
      state: 'stopped',
      child: undefined,
    };
    replicas.push(replica);
    return replica;
  };

  const replicaAt = (index: number): Replica => {
    const replica = replicas[index];
    if (!replica) throw new Error(`no replica ${index}`);
    return replica;
  };

  /** The port the current process logged ('HTTP server listening'), from the part of the log it wrote. */
  const discoverPort = (replica: Replica): number | undefined => {
    const text = readFrom(replica.logFile, logOffsets.get(replica.index) ?? 0);
    for (const line of text.split('\n')) {
      if (!line.includes('HTTP server listening')) continue;
      try {
        const port = (JSON.parse(line) as { port?: number }).port;
        if (typeof port === 'number') return port;
      } catch {
        // a partly written line; the next poll reads it whole
      }
    }
    return undefined;
  };

  const httpGet = async (index: number, urlPath: string) => {
    const replica = replicaAt(index);
    if (replica.port === undefined) throw new Error(`${replica.instanceId} has no known HTTP port`);
    const response = await fetch(`http://127.0.0.1:${replica.port}${urlPath}`, {
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // metrics are plain text
    }
    return { status: response.status, body };
  };

  const waitReady = async (index: number, timeoutMs = readyTimeoutMs): Promise<void> => {
    const replica = replicaAt(index);
    await waitFor(
      `${replica.instanceId} (pid ${replica.pid}) to report ready on /readyz; log ${replica.logFile}`,
      async () => {
        if (replica.state === 'stopped') {
          throw new Error(`${replica.instanceId} exited; see ${replica.logFile}`);
        }
        replica.port ??= discoverPort(replica);
        if (replica.port === undefined) return false;
        const { status } = await httpGet(index, '/readyz');
        return status === 200;
      },
      { timeoutMs, intervalMs: 250 },
    );
  };

  const kill = async (index: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const replica = replicaAt(index);
    const child = replica.child;
    if (!child || replica.state === 'stopped') return;
    intentional.add(child);
    if (replica.state === 'paused') child.kill('SIGCONT');
    child.kill(signal);
    await exited(child);
    replica.state = 'stopped';
  };

  return {
    replicas,
    async migrate() {
      const replica: Replica = {
        index: -1,
        instanceId: `${options.label}-migrate`,
        logFile: path.join(options.logDir, `${options.label}-migrate.log`),
        pid: undefined,
        port: undefined,
        state: 'stopped',
        child: undefined,
      };
      const out = fs.openSync(replica.logFile, 'a');
      const child = spawn(process.execPath, [workerEntry, 'migrate'], {
        cwd: repoRoot,
        env: env(replica),
        stdio: ['ignore', out, out],
      });
      fs.closeSync(out);
      options.onSpawn?.(child);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`worker migrate exited with ${code}; see ${replica.logFile}`);
    },
    async start() {
      while (replicas.length < options.replicas) newReplica();
      for (const replica of replicas) if (replica.state === 'stopped') spawnReplica(replica);
      await Promise.all(replicas.map((replica) => waitReady(replica.index)));
    },
    async addReplica() {
      const replica = newReplica();
      spawnReplica(replica);
      await waitReady(replica.index);
      return replica;
    },
    waitReady,
    async readiness(index) {
      const { status, body } = await httpGet(index, '/readyz');
      return { status, body: typeof body === 'object' ? (body as ReadinessBody) : undefined };
    },
    httpGet,
    kill: (index) => kill(index, 'SIGKILL'),
    pause(index) {
      const replica = replicaAt(index);
      if (replica.state !== 'running') return;
      replica.child?.kill('SIGSTOP');
      replica.state = 'paused';
    },
    resume(index) {
      const replica = replicaAt(index);
      if (replica.state !== 'paused') return;
      replica.child?.kill('SIGCONT');
      replica.state = 'running';
    },
    async restart(index) {
      await kill(index, 'SIGKILL');
      spawnReplica(replicaAt(index));
      await waitReady(index);
    },
    async startReplica(index) {
      const replica = replicaAt(index);
      if (replica.state !== 'stopped') throw new Error(`${replica.instanceId} is ${replica.state}`);
      spawnReplica(replica);
      await waitReady(index);
    },
    async terminate(index, killAfterMs = STOP_GRACE_MS) {
      const replica = replicaAt(index);
      const child = replica.child;
      if (!child || replica.state === 'stopped') throw new Error(`${replica.instanceId} is not running`);
      intentional.add(child);
      const startedAt = Date.now();
      const exit = new Promise<ReplicaExit>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal, durationMs: Date.now() - startedAt })),
      );
      if (replica.state === 'paused') child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      const result = await exit;
      clearTimeout(timer);
      replica.state = 'stopped';
      return result;
    },
    async stop() {
      await Promise.all(
        replicas.map(async (replica) => {
          const child = replica.child;
          if (!child || replica.state === 'stopped') return;
          intentional.add(child);
          if (replica.state === 'paused') child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited(child);
          clearTimeout(timer);
          replica.state = 'stopped';
        }),
      );
    },
    pids: () => [...allPids],
    rssBytes: (index) => rssOfPid(replicaAt(index).pid),
    unexpectedExits: () => [...unexpected],
    cpuThrottling: () =>
      [...cpuGroups].map(([index, group]) => ({
        instanceId: replicaAt(index).instanceId,
        cpus: group.cpus,
        ...group.throttling(),
      })),
    dispose() {
      for (const group of cpuGroups.values()) group.remove();
      cpuGroups.clear();
    },
  };
}
