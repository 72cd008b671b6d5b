import { waitFor } from '@els/coordination/testing';
import type { Sql } from '@els/coordination';
import type { WorkerCluster } from '../harness/process-cluster';
import { stackFaults, type StackFaults } from '../harness/stack-control';
import type { DatabaseFaults } from './database-faults';
import type { ScheduledFault } from './fault-schedule';
import type { NetworkFaults } from './network-faults';

/**
 * What each fault kind does to the running system. Every action returns once its fault has been undone
 * (the replica is back and ready, the service answers, the proxy forwards again), except `scale-down`,
 * whose replica stays gone.
 */

export interface FaultTargets {
  cluster: WorkerCluster;
  network: NetworkFaults | undefined;
  /** The run's database, for faults that watch the outbox. */
  sql: Sql;
  /** Control of the run's database from a session of its own (`postgres-read-only`); none: skipped. */
  database?: DatabaseFaults | undefined;
  /** The shared services' controls (default: the driver's, `stackFaults`). */
  stack?: StackFaults;
  note(text: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const READY_AFTER_FAULT_MS = 120_000;
/** Never scale below this many running replicas. */
const MIN_RUNNING = 2;

const running = (targets: FaultTargets) =>
  targets.cluster.replicas.filter((replica) => replica.state === 'running').map((replica) => replica.index);

/**
 * Replicas a fault is acting on right now (killed and not yet ready again, paused, being restarted): a
 * second fault drawn for the same moment picks another replica, and a rolling restart passes over them,
 * so two faults never fight over one replica's lifecycle.
 */
const busyByCluster = new WeakMap<WorkerCluster, Set<number>>();
function busy(targets: FaultTargets): Set<number> {
  let set = busyByCluster.get(targets.cluster);
  if (!set) busyByCluster.set(targets.cluster, (set = new Set()));
  return set;
}

/** Runs `action` with replica `index` marked busy. */
async function holding<T>(targets: FaultTargets, index: number, action: () => Promise<T>): Promise<T> {
  busy(targets).add(index);
  try {
    return await action();
  } finally {
    busy(targets).delete(index);
  }
}

const available = (targets: FaultTargets) => running(targets).filter((index) => !busy(targets).has(index));

/**
 * The replica a fault was drawn for, if it is running; another running one otherwise (it may have been
 * scaled down or be down for another fault). Undefined when none is running.
 */
function targetReplica(targets: FaultTargets, fault: ScheduledFault): number | undefined {
  const wanted = fault.replica ?? 0;
  const live = available(targets);
  if (live.includes(wanted)) return wanted;
  const other = live.find((index) => index !== wanted);
  if (other !== undefined)
    targets.note(`${fault.label}: r${wanted + 1} was not running or under another fault; used r${other + 1}`);
  else targets.note(`${fault.label}: no running replica free of other faults; skipped`);
  return other;
}

/** The sum of one counter over its labels in a replica's /metrics. */
async function counter(targets: FaultTargets, index: number, name: string): Promise<number> {
  const { body } = await targets.cluster.httpGet(index, '/metrics');
  let total = 0;
  for (const line of String(body).split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
    }
  }
  return total;
}

/**
 * Waits until replica `index`'s relay is publishing — its published counter moved since the last look
 * while rows still wait in the outbox — and SIGKILLs it at once: the rows of the publish in flight are on
 * the broker or not, and marked or not, at random. Gives up (and kills anyway) after 15 s.
 */
async function killDuringPublish(targets: FaultTargets, index: number): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  let last = await counter(targets, index, 'els_outbox_published_total').catch(() => 0);
  while (Date.now() < deadline) {
    await sleep(20);
    const now = await counter(targets, index, 'els_outbox_published_total').catch(() => last);
    if (now > last) {
      const [row] = await targets.sql<Array<{ n: number }>>`
        select count(*)::int as n from outbox where published_at is null`;
      if ((row?.n ?? 0) > 0) {
        await targets.cluster.kill(index);
        return true;
      }
    }
    last = now;
  }
  await targets.cluster.kill(index);
  return false;
}

async function restartAndWait(targets: FaultTargets, index: number): Promise<void> {
  await targets.cluster.startReplica(index);
  await targets.cluster.waitReady(index, READY_AFTER_FAULT_MS);
}

/** Runs one fault to its end. */
export async function applyFault(targets: FaultTargets, fault: ScheduledFault): Promise<void> {
  const { cluster } = targets;
  const stack = targets.stack ?? stackFaults;
  switch (fault.kind) {
    case 'replica-kill': {
      const index = targetReplica(targets, fault);
      if (index === undefined) return;
      await holding(targets, index, async () => {
        await cluster.kill(index);
        await sleep(fault.holdMs);
        await restartAndWait(targets, index);
      });
      return;
    }
    case 'relay-kill': {
      const index = targetReplica(targets, fault);
      if (index === undefined) return;
      await holding(targets, index, async () => {
        const caught = await killDuringPublish(targets, index);
        if (!caught) targets.note(`${fault.label}: no publish seen within 15 s; killed r${index + 1} anyway`);
        await restartAndWait(targets, index);
      });
      return;
    }
    case 'replica-pause':
    case 'replica-long-pause': {
      const index = targetReplica(targets, fault);
      if (index === undefined) return;
      await holding(targets, index, async () => {
        cluster.pause(index);
        try {
          await sleep(fault.holdMs);
        } finally {
          cluster.resume(index);
        }
      });
      return;
    }
    case 'rolling-restart': {
      for (const index of running(targets)) {
        // Re-checked at each step: a replica another fault holds now is passed over (noted).
        if (!available(targets).includes(index)) {
          targets.note(`rolling restart: r${index + 1} passed over (stopped or under another fault)`);
          continue;
        }
        await holding(targets, index, async () => {
          const exit = await cluster.terminate(index);
          if (exit.code !== 0) {
            targets.note(`rolling restart: r${index + 1} exited with ${exit.signal ?? exit.code}`);
          }
          await restartAndWait(targets, index);
        });
      }
      return;
    }
    case 'scale-up':
      await cluster.addReplica();
      return;
    case 'scale-down': {
      const live = running(targets);
      const index = available(targets).at(-1);
      if (index === undefined || live.length <= MIN_RUNNING) {
        targets.note(`scale-down skipped: ${live.length} replicas running`);
        return;
      }
      await cluster.terminate(index);
      return;
    }
    case 'postgres-crash':
      await stack.crashPostgres();
      return;
    case 'postgres-restart':
      await stack.restartPostgres();
      return;
    case 'postgres-read-only': {
      const { database } = targets;
      if (!database) {
        targets.note(`${fault.label}: no control of the run's database; skipped`);
        return;
      }
      // Reset in `finally` even when setting it failed half-way (set, but the sessions not ended): a
      // reset of a database that is not read-only only ends the replicas' sessions once more.
      try {
        await database.setReadOnly(true);
        await sleep(fault.holdMs);
      } finally {
        await database.setReadOnly(false);
      }
      return;
    }
    case 'kafka-crash':
      await stack.crashKafka();
      return;
    case 'kafka-restart':
      await stack.restartKafka();
      return;
    case 'redis-restart':
      await stack.stopRedis();
      try {
        await sleep(fault.holdMs);
      } finally {
        await stack.startRedis();
      }
      return;
    case 'net-latency':
    case 'net-blackhole':
    case 'net-reset': {
      const { network } = targets;
      const index = fault.replica ?? 0;
      const dependency = fault.dependency ?? 'postgres';
      if (!network?.proxy(index, dependency)) {
        targets.note(`${fault.label}: r${index + 1} has no ${dependency} proxy; skipped`);
        return;
      }
      network.setMode(
        index,
        dependency,
        fault.kind === 'net-latency'
          ? {
              kind: 'latency',
              ms: fault.latencyMs ?? 200,
              jitterMs: Math.round((fault.latencyMs ?? 200) / 4),
            }
          : { kind: fault.kind === 'net-blackhole' ? 'blackhole' : 'reset' },
      );
      try {
        await sleep(fault.holdMs);
      } finally {
        network.setMode(index, dependency, { kind: 'pass' });
      }
      return;
    }
    case 'net-refuse': {
      const { network } = targets;
      const index = fault.replica ?? 0;
      const dependency = fault.dependency ?? 'postgres';
      const proxy = network?.proxy(index, dependency);
      if (!network || !proxy) {
        targets.note(`${fault.label}: r${index + 1} has no ${dependency} proxy; skipped`);
        return;
      }
      if (network.packetFilterUnavailable) {
        targets.note(`${fault.label}: ${network.packetFilterUnavailable}; skipped`);
        return;
      }
      const rule = { host: proxy.host, port: proxy.port, refusal: fault.refusal ?? 'tcp-reset' } as const;
      await network.packetFilter.refuse(rule);
      try {
        // The rule turns down new connections only. The replica's open ones are reset now, after the rule
        // is in place, so that it reconnects into the rule at once instead of whenever its pools happen to
        // open a connection.
        network.setMode(index, dependency, { kind: 'reset' });
        network.setMode(index, dependency, { kind: 'pass' });
        await sleep(fault.holdMs);
      } finally {
        await network.packetFilter.remove(rule);
      }
      return;
    }
  }
}

/**
 * Undoes whatever a fault action may have left behind (services up, the database writable again, replicas
 * resumed, proxies open, packet filter rules gone), then waits for every running replica to be ready
 * again. Returns the replicas still not ready after `READY_AFTER_FAULT_MS`, each with its /readyz answer:
 * a replica that does not recover once every fault has healed is a stuck peer.
 */
export async function healEverything(targets: FaultTargets): Promise<string[]> {
  const stack = targets.stack ?? stackFaults;
  await targets.network
    ?.healAll()
    .catch((error: Error) => targets.note(`heal network faults: ${error.message}`));
  await stack.startPostgres().catch((error: Error) => targets.note(`heal PostgreSQL: ${error.message}`));
  // After PostgreSQL is up: an interrupted read-only fault leaves the setting in the catalogue.
  await targets.database
    ?.heal()
    .then((healed) => {
      if (healed) targets.note('heal: the run database was still read-only; reset');
    })
    .catch((error: Error) => targets.note(`heal the read-only database: ${error.message}`));
  await stack.startRedis().catch((error: Error) => targets.note(`heal Redis: ${error.message}`));
  await stack.startKafka().catch((error: Error) => targets.note(`heal Kafka: ${error.message}`));
  for (const replica of targets.cluster.replicas) {
    if (replica.state === 'paused') targets.cluster.resume(replica.index);
  }
  const unready = async () => {
    const found: string[] = [];
    for (const index of running(targets)) {
      const readiness = await targets.cluster.httpGet(index, '/readyz').catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      if (readiness.status !== 200) {
        found.push(`r${index + 1} ${readiness.status} ${JSON.stringify(readiness.body).slice(0, 600)}`);
      }
    }
    return found;
  };
  return waitFor(
    'every running replica to be ready after the faults',
    async () => (await unready()).length === 0,
    { timeoutMs: READY_AFTER_FAULT_MS, intervalMs: 500 },
  ).then(
    () => [],
    async () =>
      (await unready()).map(
        (line) => `not ready ${READY_AFTER_FAULT_MS / 1000} s after the faults healed: ${line}`,
      ),
  );
}
