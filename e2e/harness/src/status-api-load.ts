import { createRequire } from 'node:module';
import path from 'node:path';
import { runHttpLoad } from '@els/workload';
import { repoRoot } from './paths';
import type { WorkerCluster } from './process-cluster';

/**
 * The status API under load through a real load balancer: nginx as a plain process in front of every
 * running replica's HTTP port (infra/nginx/local-nginx.cjs), or the Compose stack's own nginx under the
 * Compose driver, autocannon against `/v1/batches/<id>/status` through it, then nginx stopped again.
 */

/** statusApiLoad of a scenario in report.json. */
export interface StatusApiLoad {
  /** The URL template autocannon requested (through nginx); `{id}` took each batch id in turn. */
  url: string;
  durationS: number;
  connections: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  /** Connection errors (socket errors; timeouts are counted apart). */
  errors: number;
  timeouts: number;
  /** The errors and timeouts by error code (or message), as autocannon saw them. */
  errorKinds: Record<string, number>;
  /** nginx's error log of the load, relative to the report directory (local nginx only). */
  nginxErrorLog?: string;
  /** The replicas behind nginx, `host:port`. */
  upstreams: string[];
  /**
   * The distinct replicas that answered a probe of sequential requests sent through nginx right after the
   * load (from the X-Els-Upstream header nginx adds to every response).
   */
  answeredBy: string[];
}

export interface StatusApiLoadOptions {
  batchIds: readonly string[];
  durationS: number;
  connections: number;
  /** Where the local nginx keeps its prefix (configuration and error.log) after the load. */
  logDir: string;
  /** The report directory, for paths relative to it. */
  reportDir: string;
}

/** The part of infra/nginx/local-nginx.cjs (types in local-nginx.d.cts) used here. */
interface LocalNginxModule {
  startLocalNginx(options: {
    upstreams: readonly string[];
    prefixDir?: string;
    keepPrefix?: boolean;
  }): Promise<{ url: string; pid: number | undefined; prefixDir: string; stop(): Promise<void> }>;
}

// Loaded by path at run time: infra is not a library that other projects import.
const loadLocalNginx = (): LocalNginxModule =>
  createRequire(__filename)(path.join(repoRoot, 'infra', 'nginx', 'local-nginx.cjs')) as LocalNginxModule;

const PROBE_REQUESTS_PER_UPSTREAM = 3;
export async function measureStatusApiLoad(
  cluster: WorkerCluster,
  options: StatusApiLoadOptions,
): Promise<StatusApiLoad> {
  if (options.batchIds.length === 0) throw new Error('the status API load needs at least one batch id');
  const upstreams = cluster.replicas
    .filter((replica) => replica.state === 'running' && replica.port !== undefined)
    .map((replica) => `${replica.address ?? '127.0.0.1'}:${replica.port}`);
  if (upstreams.length === 0) throw new Error('no running replica has a known HTTP port');
  // The deployment's own nginx when it has one (Compose), else nginx as a process in front of the replicas.
  const nginx = cluster.loadBalancerUrl
    ? { url: cluster.loadBalancerUrl, prefixDir: undefined, stop: async () => undefined }
    : await loadLocalNginx().startLocalNginx({
        upstreams,
        prefixDir: path.join(options.logDir, 'nginx'),
        keepPrefix: true,
      });
  try {
    const load = await runHttpLoad({
      url: `${nginx.url}/v1/batches/{id}/status`,
      ids: options.batchIds,
      durationS: options.durationS,
      connections: options.connections,
    });
    const answeredBy = new Set<string>();
    for (let i = 0; i < upstreams.length * PROBE_REQUESTS_PER_UPSTREAM; i += 1) {
      const batchId = options.batchIds[i % options.batchIds.length] ?? '';
      const response = await fetch(`${nginx.url}/v1/batches/${encodeURIComponent(batchId)}/status`);
      await response.arrayBuffer();
      const upstream = response.headers.get('x-els-upstream');
      if (response.ok && upstream) answeredBy.add(upstream);
    }
    return {
      url: load.url,
      durationS: load.durationS,
      connections: load.connections,
      requests: load.requests,
      requestsPerSec: Math.round(load.requestsPerSec * 10) / 10,
      latencyMs: {
        p50: load.latencyMs.p50,
        p90: load.latencyMs.p90,
        p99: load.latencyMs.p99,
        max: load.latencyMs.max,
      },
      non2xx: load.non2xx,
      errors: load.errors - load.timeouts,
      timeouts: load.timeouts,
      errorKinds: load.errorKinds,
      ...(nginx.prefixDir
        ? { nginxErrorLog: path.relative(options.reportDir, path.join(nginx.prefixDir, 'error.log')) }
        : {}),
      upstreams,
      answeredBy: [...answeredBy].sort(),
    };
  } finally {
    await nginx.stop();
  }
}

/** What must hold for the load to count as a pass; empty when it does. */
export function statusApiLoadProblems(load: StatusApiLoad): string[] {
  const problems: string[] = [];
  if (load.requests === 0) problems.push('no status request completed through nginx');
  if (load.non2xx > 0) problems.push(`${load.non2xx} status responses through nginx were not 2xx`);
  if (load.errors > 0 || load.timeouts > 0) {
    const kinds = Object.entries(load.errorKinds).map(([kind, count]) => `${kind} ×${count}`);
    problems.push(
      `${load.errors} connection errors and ${load.timeouts} timeouts through nginx (${kinds.join(', ') || 'no detail'})`,
    );
  }
  const wanted = Math.min(2, load.upstreams.length);
  if (load.answeredBy.length < wanted) {
    problems.push(
      `${load.answeredBy.length} distinct replicas answered through nginx, expected at least ${wanted}`,
    );
  }
  return problems;
}
