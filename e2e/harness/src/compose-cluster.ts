import { SUITE_WORKER_SETTINGS } from './worker-settings';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { waitFor } from '@els/test-kit';
import { COMPOSE_INNER_ENDPOINTS, COMPOSE_PORTS } from './compose-endpoints';
import { compose, podman, serviceContainer } from './compose-stack';
import { cpuCapOfPid } from './cpu-cap';
import {
  rssOfPid,
  type ClusterOptions,
  type ReadinessBody,
  type Replica,
  type ReplicaExit,
  type WorkerCluster,
} from './process-cluster';

/**
 * Compose driver: the replicas are the `els-worker` containers of infra/compose/distributed-test.yml,
 * deployed with `docker-compose up --scale els-worker=N` on the locally built images, configured for the
 * run by an override file (the run's database, topic prefix and consumer group), and reached on their
 * container address. Faults act through the engine: `podman kill` (SIGKILL), `pause`/`unpause` (cgroup
 * freezer), `stop` (SIGTERM, then SIGKILL after the grace period) and `start` of one container.
 */

const WORKER_PORT = 6000;
const STOP_GRACE_S = 20;
const SERVICE = 'els-worker';

interface ComposeReplica extends Replica {
  container: string;
  /** Full container id (the report names it). */
  containerId: string;
}

/** GET over node:http (fetch refuses port 6000, a Fetch "bad port"). */
function get(url: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/** The run's database as the containers reach it: same database name and user, the service's address. */
export function innerDatabaseUrl(hostUrl: string): string {
  const url = new URL(hostUrl);
  url.host = COMPOSE_INNER_ENDPOINTS.postgres;
  return url.toString();
}

export function composeRunOverride(options: ClusterOptions): string {
  const environment: Record<string, string> = {
    ELS_DATABASE_URL: innerDatabaseUrl(options.databaseUrl),
    ELS_REDIS_URL: COMPOSE_INNER_ENDPOINTS.redis,
    ELS_KAFKA_BROKERS: COMPOSE_INNER_ENDPOINTS.kafka,
    ELS_CONSUMER_GROUP: options.consumerGroup,
    ELS_TOPIC_PREFIX: options.topicPrefix,
    ...SUITE_WORKER_SETTINGS,
    ...options.env,
  };
  const env = Object.entries(environment)
    .map(([key, value]) => `      ${key}: ${JSON.stringify(value)}`)
    .join('\n');
  // The harness decides when a replica runs again: no engine restarts behind its back. A CPU cap is the
  // engine's (`cpus`: a CFS quota on the container's control group).
  const cpus = options.replicaCpus === undefined ? '' : `    cpus: ${options.replicaCpus}\n`;
  return `# Written by the distributed suite for one scenario run.\nservices:\n  ${SERVICE}:\n    restart: 'no'\n${cpus}    environment:\n${env}\n  migrate:\n    environment:\n${env}\n`;
}

export function createComposeCluster(options: ClusterOptions): WorkerCluster {
  fs.mkdirSync(options.logDir, { recursive: true });
  const overrideFile = path.join(options.logDir, 'compose-run.yml');
  fs.writeFileSync(overrideFile, composeRunOverride(options));
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
  const replicas: ComposeReplica[] = [];
  const allPids: number[] = [];
  const unexpected: string[] = [];

  const replicaAt = (index: number): ComposeReplica => {
    const replica = replicas[index];
    if (!replica) throw new Error(`no replica ${index}`);
    return replica;
  };

  const inspect = async (container: string) => {
    const text = await podman([
      'inspect',
      '--format',
      '{{.Id}}|{{.Config.Hostname}}|{{.State.Pid}}|{{.State.Running}}|{{.State.ExitCode}}|{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}',
      container,
    ]);
    const [id = '', hostname = '', pid = '0', running = 'false', exitCode = '', addresses = ''] = text
      .trim()
      .split('|');
    return {
      id,
      hostname,
      pid: Number(pid),
      running: running === 'true',
      exitCode: Number(exitCode),
      address: addresses.trim().split(' ')[0] || undefined,
    };
  };

  /** Reads the container's pid and address after it (re)started. */
  const refresh = async (replica: ComposeReplica) => {
    const state = await inspect(replica.container);
    replica.pid = state.pid > 0 ? state.pid : undefined;
    replica.address = state.address;
    replica.port = WORKER_PORT;
    if (replica.pid !== undefined && !allPids.includes(replica.pid)) allPids.push(replica.pid);
  };

  /** Adopts the containers compose created beyond those known, in their number order. */
  const adopt = async () => {
    const names = (
      await podman([
        'ps',
        '-a',
        '--format',
        '{{.Names}}',
        '--filter',
        `name=${serviceContainer(SERVICE, 0).replace(/_0$/, '_')}`,
      ])
    )
      .split('\n')
      .filter(Boolean);
    const numbers = names
      .map((name) => Number(/_(\d+)$/.exec(name)?.[1]))
      .filter((n) => Number.isInteger(n))
      .sort((a, b) => a - b);
    for (const n of numbers) {
      const container = serviceContainer(SERVICE, n);
      if (replicas.some((r) => r.container === container)) continue;
      const state = await inspect(container);
      const replica: ComposeReplica = {
        index: replicas.length,
        // The worker's own instance id: <container hostname>-<pid in the container>, and it is PID 1.
        instanceId: `${state.hostname}-1`,
        logFile: path.join(options.logDir, `${options.label}-r${replicas.length + 1}-${container}.log`),
        pid: undefined,
        port: WORKER_PORT,
        state: 'running',
        child: undefined,
        container,
        containerId: state.id,
        address: state.address,
      };
      replicas.push(replica);
      await refresh(replica);
    }
  };

  const url = (replica: ComposeReplica, urlPath: string) => {
    if (!replica.address) throw new Error(`${replica.container} has no address`);
    return `http://${replica.address}:${WORKER_PORT}${urlPath}`;
  };

  const httpGet = async (index: number, urlPath: string) => {
    const { status, text } = await get(url(replicaAt(index), urlPath));
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // metrics are plain text
    }
    return { status, body };
  };

  const waitReady = async (index: number, timeoutMs = readyTimeoutMs) => {
    const replica = replicaAt(index);
    await waitFor(
      `${replica.container} to report ready on /readyz`,
      async () => {
        const state = await inspect(replica.container);
        if (!state.running) {
          throw new Error(
            `${replica.container} exited with ${state.exitCode}; see podman logs ${replica.container}`,
          );
        }
        replica.address = state.address;
        const { status } = await httpGet(index, '/readyz').catch(() => ({ status: 0 }));
        return status === 200;
      },
      { timeoutMs, intervalMs: 500 },
    );
  };

  const scaleTo = async (count: number) => {
    // `up --scale` also starts the stopped replicas among the first `count`: those the harness stopped
    // are stopped again right after, so scaling up never revives a replica behind the schedule's back.
    const stopped = replicas.filter((r) => r.state === 'stopped');
    await compose(
      ['up', '-d', '--no-build', '--no-deps', '--no-recreate', '--scale', `${SERVICE}=${count}`, SERVICE],
      [overrideFile],
    );
    for (const replica of stopped) await podman(['stop', '-t', String(STOP_GRACE_S), replica.container]);
    await adopt();
  };

  const kill = async (index: number) => {
    const replica = replicaAt(index);
    if (replica.state === 'stopped') return;
    await podman(['kill', '-s', 'KILL', replica.container]);
    await podman(['wait', replica.container]).catch(() => undefined);
    replica.state = 'stopped';
  };

  const startContainer = async (index: number) => {
    const replica = replicaAt(index);
    await podman(['start', replica.container]);
    replica.state = 'running';
    await refresh(replica);
    await waitReady(index);
  };

  /** Every replica's log (all its runs) into its log file, for the merged log and the report. */
  const dumpLogs = async () => {
    for (const replica of replicas) {
      const text = await podman(['logs', replica.container]).catch((error: Error) => `${error.message}\n`);
      fs.writeFileSync(replica.logFile, text);
    }
  };

  return {
    replicas,
    async migrate() {
      const logFile = path.join(options.logDir, `${options.label}-migrate.log`);
      const output = await compose(['run', '--rm', '--no-deps', 'migrate'], [overrideFile]).catch(
        (error: Error) => {
          fs.writeFileSync(logFile, error.message);
          throw new Error(`migrate in its container failed; see ${logFile}`);
        },
      );
      fs.writeFileSync(logFile, output);
    },
    async start() {
      await scaleTo(options.replicas);
      await Promise.all(replicas.map((replica) => waitReady(replica.index)));
    },
    async addReplica() {
      await scaleTo(replicas.length + 1);
      const replica = replicas.at(-1) as ComposeReplica;
      await waitReady(replica.index);
      return replica;
    },
    waitReady,
    async readiness(index) {
      const { status, body } = await httpGet(index, '/readyz');
      return { status, body: typeof body === 'object' ? (body as ReadinessBody) : undefined };
    },
    httpGet,
    kill,
    pause(index) {
      const replica = replicaAt(index);
      if (replica.state !== 'running') return;
      replica.state = 'paused';
      void podman(['pause', replica.container]).catch((error: Error) =>
        unexpected.push(`pause: ${error.message}`),
      );
    },
    resume(index) {
      const replica = replicaAt(index);
      if (replica.state !== 'paused') return;
      replica.state = 'running';
      void podman(['unpause', replica.container]).catch((error: Error) =>
        unexpected.push(`unpause: ${error.message}`),
      );
    },
    async restart(index) {
      await kill(index);
      await startContainer(index);
    },
    async startReplica(index) {
      const replica = replicaAt(index);
      if (replica.state !== 'stopped') throw new Error(`${replica.container} is ${replica.state}`);
      await startContainer(index);
    },
    async terminate(index, killAfterMs = STOP_GRACE_S * 1000): Promise<ReplicaExit> {
      const replica = replicaAt(index);
      if (replica.state === 'stopped') throw new Error(`${replica.container} is not running`);
      if (replica.state === 'paused') await podman(['unpause', replica.container]);
      const startedAt = Date.now();
      await podman(['stop', '-t', String(Math.ceil(killAfterMs / 1000)), replica.container]);
      replica.state = 'stopped';
      const state = await inspect(replica.container);
      const killed = state.exitCode === 137;
      return {
        code: killed ? null : state.exitCode,
        signal: killed ? 'SIGKILL' : null,
        durationMs: Date.now() - startedAt,
      };
    },
    async stop() {
      for (const replica of replicas) {
        const state = await inspect(replica.container).catch(() => undefined);
        if (state && !state.running && replica.state !== 'stopped') {
          unexpected.push(`${replica.container} (${replica.instanceId}) exited with ${state.exitCode}`);
        }
      }
      await Promise.all(
        replicas.map(async (replica) => {
          if (replica.state === 'paused') await podman(['unpause', replica.container]).catch(() => undefined);
          if (replica.state !== 'stopped')
            await podman(['stop', '-t', String(STOP_GRACE_S), replica.container]);
          replica.state = 'stopped';
        }),
      );
      await dumpLogs();
      await compose(['rm', '-s', '-f', SERVICE], [overrideFile]);
    },
    pids: () => [...allPids],
    rssBytes: (index) => rssOfPid(replicaAt(index).pid),
    unexpectedExits: () => [...unexpected],
    // The engine's control group of each running container (read before the containers are removed).
    cpuThrottling: () =>
      replicas.flatMap((replica) => {
        const cap = replica.pid === undefined ? undefined : cpuCapOfPid(replica.pid);
        return cap ? [{ instanceId: replica.instanceId, ...cap }] : [];
      }),
    containerIds: () => replicas.map((replica) => `${replica.container} ${replica.containerId.slice(0, 12)}`),
    loadBalancerUrl: `http://127.0.0.1:${COMPOSE_PORTS.LB_HTTP_PORT}`,
  };
}
