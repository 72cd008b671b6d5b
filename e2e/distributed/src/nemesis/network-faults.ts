import net from 'node:net';
import { startFaultProxy, type FaultMode, type FaultProxy } from './fault-proxy';
import type { ProxiedDependency } from './fault-schedule';
import { createPacketFilter, packetFilterTag, type PacketFilter } from './packet-filter';

/**
 * Network faults per replica: every replica reaches PostgreSQL, Redis and Kafka through fault proxies of
 * its own (one per dependency), so a partition, added latency or connection resets can be put between one
 * replica and one dependency while the others are untouched. A replica keeps its proxies across restarts.
 *
 * Kafka needs the broker's help: a client that bootstraps through a proxy is told the broker's advertised
 * address and would then connect to it directly. The local broker (infra/local/kafka/server.properties)
 * has one listener per replica slot, FAULT<n> on 19200+n, advertising 29200+n: the port of that replica's
 * proxy. A broker without those listeners (one started by other means) gets no Kafka proxies.
 *
 * Connections turned down by the kernel (`net-refuse`) are packet filter rules on a proxy's port
 * (packet-filter.ts): only that replica's connections to that dependency meet them.
 */

/** Replica slots the broker has fault listeners for. */
export const KAFKA_FAULT_LISTENERS = 6;
const KAFKA_LISTENER_PORT = (slot: number) => 19200 + slot;
const KAFKA_PROXY_PORT = (slot: number) => 29200 + slot;

export interface NetworkFaults {
  /** Endpoints for the cluster's `endpointsFor`: the replica's proxies, or direct beyond the prepared ones. */
  endpointsFor(index: number): { databaseUrl?: string; redisUrl?: string; kafkaBrokers?: string };
  proxy(index: number, dependency: ProxiedDependency): FaultProxy | undefined;
  setMode(index: number, dependency: ProxiedDependency, mode: FaultMode): void;
  /** Every proxy back to plain forwarding, and every packet filter rule of the run removed. */
  healAll(): Promise<void>;
  /** Why a dependency has no proxies, when it has none (e.g. a broker without fault listeners). */
  readonly unavailable: Partial<Record<ProxiedDependency, string>>;
  /** Packet filter rules on the proxies' ports (`net-refuse`), tagged with the run. */
  readonly packetFilter: PacketFilter;
  /** Why packet filter rules cannot be used here; undefined when they can. */
  readonly packetFilterUnavailable: string | undefined;
  /** Rules a suite process that died before healing had left, removed at the start. */
  readonly leftoverRulesRemoved: readonly string[];
  close(): Promise<void>;
}

function withHostPort(url: string, host: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  parsed.port = String(port);
  return parsed.toString();
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Starts proxies for replicas 0 … `replicas - 1` (scale-up replicas beyond them connect directly). */
export async function createNetworkFaults(options: {
  replicas: number;
  databaseUrl: string;
  redisUrl: string;
  /** The broker's host (its fault listeners are on this host). */
  kafkaHost: string;
  label: string;
  /** The run's packet filter (default: the machine's iptables, tagged with the label and this process). */
  packetFilter?: PacketFilter;
}): Promise<NetworkFaults> {
  const targets = { postgres: new URL(options.databaseUrl), redis: new URL(options.redisUrl) };
  const defaultPorts = { postgres: 5432, redis: 6379 };
  const proxies: Array<Partial<Record<ProxiedDependency, FaultProxy>>> = [];
  const unavailable: Partial<Record<ProxiedDependency, string>> = {};
  const all = () => proxies.flatMap((set) => Object.values(set));
  const packetFilter = options.packetFilter ?? createPacketFilter({ tag: packetFilterTag(options.label) });
  const packetFilterUnavailable = await packetFilter.unavailable();
  // Before any proxy listens: a stale rule on an ephemeral port would refuse a new proxy that got it.
  const leftoverRulesRemoved = packetFilterUnavailable ? [] : await packetFilter.removeLeftovers();
  try {
    for (let index = 0; index < options.replicas; index += 1) {
      const name = (dependency: ProxiedDependency) => `${options.label}-r${index + 1}-${dependency}`;
      const set: Partial<Record<ProxiedDependency, FaultProxy>> = {};
      for (const dependency of ['postgres', 'redis'] as const) {
        set[dependency] = await startFaultProxy({
          name: name(dependency),
          targetHost: targets[dependency].hostname,
          targetPort: Number(targets[dependency].port || defaultPorts[dependency]),
        });
      }
      const slot = index + 1;
      if (slot > KAFKA_FAULT_LISTENERS) {
        unavailable.kafka ??= `the broker has fault listeners for ${KAFKA_FAULT_LISTENERS} replicas`;
      } else if (!(await answers(options.kafkaHost, KAFKA_LISTENER_PORT(slot)))) {
        unavailable.kafka ??= `the broker has no fault listener FAULT${slot} on ${KAFKA_LISTENER_PORT(slot)} (started without infra/local/kafka/server.properties?)`;
      } else {
        const kafka = await startFaultProxy({
          name: name('kafka'),
          targetHost: options.kafkaHost,
          targetPort: KAFKA_LISTENER_PORT(slot),
          listenHost: options.kafkaHost,
          listenPort: KAFKA_PROXY_PORT(slot),
        }).catch((error: Error) => {
          unavailable.kafka ??= `Kafka proxy port ${KAFKA_PROXY_PORT(slot)}: ${error.message}`;
          return undefined;
        });
        // A replica without a Kafka proxy connects directly (noted); the set holds only proxies that run.
        if (kafka) set.kafka = kafka;
      }
      proxies.push(set);
    }
  } catch (error) {
    await Promise.all(all().map((proxy) => proxy.close()));
    throw error;
  }
  const removeRules = async () => {
    if (!packetFilterUnavailable) await packetFilter.removeTagged();
  };
  return {
    unavailable,
    packetFilter,
    packetFilterUnavailable,
    leftoverRulesRemoved,
    endpointsFor(index) {
      const set = proxies[index];
      if (!set) return {};
      const { postgres, redis, kafka } = set;
      return {
        ...(postgres ? { databaseUrl: withHostPort(options.databaseUrl, postgres.host, postgres.port) } : {}),
        ...(redis ? { redisUrl: withHostPort(options.redisUrl, redis.host, redis.port) } : {}),
        ...(kafka ? { kafkaBrokers: `${kafka.host}:${kafka.port}` } : {}),
      };
    },
    proxy: (index, dependency) => proxies[index]?.[dependency],
    setMode(index, dependency, mode) {
      const proxy = proxies[index]?.[dependency];
      if (!proxy) throw new Error(`replica ${index + 1} has no ${dependency} proxy`);
      proxy.setMode(mode);
    },
    async healAll() {
      for (const proxy of all()) if (proxy.mode.kind !== 'pass') proxy.setMode({ kind: 'pass' });
      await removeRules();
    },
    async close() {
      await removeRules().catch(() => undefined);
      await Promise.all(all().map((proxy) => proxy.close()));
    },
  };
}
