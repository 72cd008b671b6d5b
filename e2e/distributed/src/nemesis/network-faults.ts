import { startFaultProxy, type FaultMode, type FaultProxy } from './fault-proxy';
import type { ProxiedDependency } from './fault-schedule';

/**
 * Network faults per replica: every replica reaches PostgreSQL and Redis through fault proxies of its own
 * (one per dependency), so a partition, added latency or connection resets can be put between one
 * replica and one dependency while the others are untouched. A replica keeps its proxies across restarts.
 */

export interface NetworkFaults {
  /** Endpoints for the cluster's `endpointsFor`: the replica's proxies, or direct beyond the prepared ones. */
  endpointsFor(index: number): { databaseUrl?: string; redisUrl?: string };
  proxy(index: number, dependency: ProxiedDependency): FaultProxy | undefined;
  setMode(index: number, dependency: ProxiedDependency, mode: FaultMode): void;
  /** Every proxy back to plain forwarding. */
  healAll(): void;
  close(): Promise<void>;
}

function withHostPort(url: string, host: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  parsed.port = String(port);
  return parsed.toString();
}

/** Starts proxies for replicas 0 … `replicas - 1` (scale-up replicas beyond them connect directly). */
export async function createNetworkFaults(options: {
  replicas: number;
  databaseUrl: string;
  redisUrl: string;
  label: string;
}): Promise<NetworkFaults> {
  const targets: Record<ProxiedDependency, URL> = {
    postgres: new URL(options.databaseUrl),
    redis: new URL(options.redisUrl),
  };
  const defaultPorts: Record<ProxiedDependency, number> = { postgres: 5432, redis: 6379 };
  const proxies: Array<Record<ProxiedDependency, FaultProxy>> = [];
  try {
    for (let index = 0; index < options.replicas; index += 1) {
      const start = (dependency: ProxiedDependency) =>
        startFaultProxy({
          name: `${options.label}-r${index + 1}-${dependency}`,
          targetHost: targets[dependency].hostname,
          targetPort: Number(targets[dependency].port || defaultPorts[dependency]),
        });
      proxies.push({ postgres: await start('postgres'), redis: await start('redis') });
    }
  } catch (error) {
    await Promise.all(proxies.flatMap((pair) => [pair.postgres.close(), pair.redis.close()]));
    throw error;
  }
  const all = () => proxies.flatMap((pair) => [pair.postgres, pair.redis]);
  return {
    endpointsFor(index) {
      const pair = proxies[index];
      if (!pair) return {};
      return {
        databaseUrl: withHostPort(options.databaseUrl, pair.postgres.host, pair.postgres.port),
        redisUrl: withHostPort(options.redisUrl, pair.redis.host, pair.redis.port),
      };
    },
    proxy: (index, dependency) => proxies[index]?.[dependency],
    setMode(index, dependency, mode) {
      const proxy = proxies[index]?.[dependency];
      if (!proxy) throw new Error(`replica ${index + 1} has no ${dependency} proxy`);
      proxy.setMode(mode);
    },
    healAll() {
      for (const proxy of all()) if (proxy.mode.kind !== 'pass') proxy.setMode({ kind: 'pass' });
    },
    async close() {
      await Promise.all(all().map((proxy) => proxy.close()));
    },
  };
}
