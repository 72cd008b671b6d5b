import { waitFor } from '@els/test-kit';
import type { Sql } from '@els/coordination';
import { stackFaults, WORKER_SESSION_PREFIX, type StackFaults, type WorkerCluster } from '@els/harness';
import type { DatabaseFaults } from './database-faults';
import type { FaultFamily, FaultKind, ProxiedDependency, ScheduledFault } from './fault-schedule';
import type { KafkaFaults } from './kafka-faults';
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
  /** The run's output topics on the broker (`kafka-produce-refusal`); none: skipped. */
  kafka?: KafkaFaults | undefined;
  /** The shared services' controls (default: the driver's, `stackFaults`). */
  stack?: StackFaults;
  /** How long `replica-lock-pause` looks for a transaction holding row locks (default LOCK_PAUSE_WAIT_MS). */
  lockPauseWaitMs?: number;
  note(text: string): void;
}

/**
 * What a fault did, recorded with its window (`FaultWindow`) for the report and the progress check. The
 * nemesis fills in what it planned; the action what it found at run time.
 */
export interface FaultDetails {
  kind?: FaultKind;
  family?: FaultFamily;
  /** The replica (0-based) the fault acted on: the planned one, or the one it took instead. */
  replica?: number;
  /** That replica's instance id (its records' `x-els-origin`, its sessions' `els-worker-<id>`). */
  instanceId?: string;
  /** The dependency of a network fault. */
  dependency?: ProxiedDependency;
  /**
   * Network faults: the running replicas (0-based) that still reached the dependency when the fault
   * started (one-sided reachability: reachable by these, not by `replica`).
   */
  reachableBy?: number[];
  /**
   * `replica-lock-pause`: whether the pause caught the replica's session inside a transaction holding row
   * locks (false: it found none within the wait and paused the replica anyway).
   */
  locksHeld?: boolean;
  /** `replica-lock-pause`: how long it watched the replica's sessions before the pause, in ms. */
  waitedMs?: number;
  /** `replica-lock-pause`: the caught session's backend pid, state, table lock modes and locked tables. */
  lockSession?: { pid: number; state: string; xactAgeMs: number; lockModes: string[]; tables: string[] };
  /** `kafka-produce-refusal`: the topics whose produce requests the broker refused. */
  topics?: string[];
  /** The fault did nothing (no target, no control): why. */
  skipped?: string;
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
 * scaled down or be down for another fault). Undefined when none is running, or when it would be the last
 * one free of faults: every caller stops its replica (kill, pause, restart), and a run with every replica
 * stopped at once has no peer left whose progress could be judged (the progress check leaves such time
 * out), so a defect that stalls the peers would hide behind the nemesis itself.
 */
function targetReplica(
  targets: FaultTargets,
  fault: ScheduledFault,
  details: FaultDetails = {},
): number | undefined {
  const wanted = fault.replica ?? 0;
  const live = available(targets);
  const chosen = live.includes(wanted) ? wanted : live.find((index) => index !== wanted);
  if (chosen === undefined) {
    targets.note(`${fault.label}: no running replica free of other faults; skipped`);
    details.skipped = 'no running replica free of other faults';
    return undefined;
  }
  if (live.length < 2) {
    targets.note(`${fault.label}: r${chosen + 1} is the last replica free of other faults; skipped`);
    details.skipped = 'it would stop the last replica free of other faults';
    return undefined;
  }
  if (chosen !== wanted) {
    targets.note(
      `${fault.label}: r${wanted + 1} was not running or under another fault; used r${chosen + 1}`,
    );
  }
  details.replica = chosen;
  details.instanceId = targets.cluster.replicas[chosen]?.instanceId;
  return chosen;
}

/**
 * How long `replica-lock-pause` watches the replica's sessions for a transaction holding row locks before
 * it pauses the replica anyway (under load one is found within milliseconds).
 */
export const LOCK_PAUSE_WAIT_MS = 8_000;
/** After SIGSTOP, how long before the session is looked at again (a COMMIT already sent completes). */
const LOCK_PAUSE_SETTLE_MS = 50;

interface LockingSession {
  pid: number;
  xid: string;
  state: string;
  xactAgeMs: number;
  lockModes: string[];
  /**
   * The tables whose rows its transaction locked or wrote (a RowShareLock or RowExclusiveLock on the table:
   * `essay_states` once it claimed a slot FOR UPDATE), not those it only read.
   */
  tables: string[];
}

/**
 * The tables of the rows peers wait for: slots (`essay_states`), which a content transaction locks as it
 * claims them and a peer's text waits for once every free slot of its batch is locked (invariant 2), and
 * the batches' completion latch (`batches`). A replica frozen while it holds such rows is the one whose
 * peers a missing bound stalls; the relay's claimed outbox rows stall no peer (they skip them).
 */
const PEER_TABLES = ['essay_states', 'batches'];

/**
 * The replica's sessions inside a transaction that has written or locked rows: a transaction gets its
 * id (`backend_xid`) at its first row write or row lock, and keeps the row locks until it ends. A session
 * waiting for another's lock is left out: it is that one's victim, and freezing it would stop a replica
 * that is waiting anyway. Matched by `application_name`, which PostgreSQL cuts to 63 bytes.
 */
async function lockingSessions(sql: Sql, instanceId: string, pid?: number): Promise<LockingSession[]> {
  const name = Buffer.from(`${WORKER_SESSION_PREFIX}${instanceId}`).subarray(0, 63).toString();
  const rows = await sql<
    Array<{
      pid: number;
      xid: string;
      state: string;
      xactAgeMs: number;
      lockModes: string[] | null;
      tables: string[] | null;
    }>
  >`
    select a.pid, a.backend_xid::text as xid, a.state,
           (extract(epoch from (clock_timestamp() - a.xact_start)) * 1000)::int as "xactAgeMs",
           (select array_agg(distinct l.mode::text) from pg_locks l
             where l.pid = a.pid and l.locktype = 'relation' and l.granted) as "lockModes",
           (select array_agg(distinct c.relname::text) from pg_locks l join pg_class c on c.oid = l.relation
             where l.pid = a.pid and l.locktype = 'relation' and l.granted and c.relkind = 'r'
               and l.mode in ('RowShareLock', 'RowExclusiveLock')) as "tables"
      from pg_stat_activity a
     where a.datname = current_database() and a.application_name = ${name}
       and a.state in ('active', 'idle in transaction') and a.xact_start is not null
       and a.backend_xid is not null and a.wait_event_type is distinct from 'Lock'
       and (${pid ?? null}::int is null or a.pid = ${pid ?? null}::int)`;
  return rows.map((row) => ({ ...row, lockModes: row.lockModes ?? [], tables: row.tables ?? [] }));
}

/**
 * Pauses replica `index` while one of its sessions is inside a transaction holding row locks: watches its
 * sessions, SIGSTOPs the replica the moment one is, and checks that the same transaction is still open
 * once the replica is stopped (it may have committed in between: then SIGCONT and watch again). For the
 * first three quarters of LOCK_PAUSE_WAIT_MS only a transaction holding rows peers wait for (PEER_TABLES)
 * will do, then any that holds row locks; after LOCK_PAUSE_WAIT_MS without one it pauses the replica anyway.
 * The replica is paused on return.
 */
async function pauseHoldingLocks(targets: FaultTargets, index: number, details: FaultDetails): Promise<void> {
  const { cluster } = targets;
  const instanceId = cluster.replicas[index]?.instanceId ?? '';
  const startedAt = Date.now();
  const waitMs = targets.lockPauseWaitMs ?? LOCK_PAUSE_WAIT_MS;
  while (Date.now() - startedAt < waitMs) {
    const sessions = await lockingSessions(targets.sql, instanceId).catch(() => []);
    const peerRowsOnly = Date.now() - startedAt < (waitMs * 3) / 4;
    const candidate = sessions.find(
      (session) => !peerRowsOnly || session.tables.some((table) => PEER_TABLES.includes(table)),
    );
    if (candidate) {
      cluster.pause(index);
      await sleep(LOCK_PAUSE_SETTLE_MS);
      const [still] = await lockingSessions(targets.sql, instanceId, candidate.pid).catch(() => []);
      if (still && still.xid === candidate.xid) {
        details.locksHeld = true;
        details.waitedMs = Date.now() - startedAt;
        details.lockSession = {
          pid: still.pid,
          state: still.state,
          xactAgeMs: still.xactAgeMs,
          lockModes: still.lockModes,
          tables: still.tables,
        };
        return;
      }
      cluster.resume(index);
    }
    await sleep(5);
  }
  details.locksHeld = false;
  details.waitedMs = Date.now() - startedAt;
  cluster.pause(index);
}

/**
 * Network faults in progress, per cluster: dependency → replicas that cannot reach it now. The report
 * names who still reaches the dependency while one replica does not.
 */
const cutOffByCluster = new WeakMap<WorkerCluster, Map<ProxiedDependency, Set<number>>>();
function cutOff(targets: FaultTargets, dependency: ProxiedDependency): Set<number> {
  let byDependency = cutOffByCluster.get(targets.cluster);
  if (!byDependency) cutOffByCluster.set(targets.cluster, (byDependency = new Map()));
  let set = byDependency.get(dependency);
  if (!set) byDependency.set(dependency, (set = new Set()));
  return set;
}

/**
 * Runs a network fault's hold with replica `index` cut off from `dependency`, recording and noting which
 * running replicas still reach it ("postgres reachable by r2, r3; not by r1").
 */
async function oneSided(
  targets: FaultTargets,
  fault: ScheduledFault,
  details: FaultDetails,
  index: number,
  dependency: ProxiedDependency,
  hold: () => Promise<void>,
): Promise<void> {
  const lost = cutOff(targets, dependency);
  lost.add(index);
  try {
    const reaching = running(targets).filter((other) => !lost.has(other));
    details.reachableBy = reaching;
    const names = (list: number[]) => list.map((other) => `r${other + 1}`).join(', ');
    targets.note(
      `${fault.label}: ${dependency} reachable by ${reaching.length > 0 ? names(reaching) : 'no running replica'}; not by ${names([...lost].sort())}`,
    );
    await hold();
  } finally {
    lost.delete(index);
  }
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
export async function applyFault(
  targets: FaultTargets,
  fault: ScheduledFault,
  details: FaultDetails = {},
): Promise<void> {
  const { cluster } = targets;
  const stack = targets.stack ?? stackFaults;
  switch (fault.kind) {
    case 'replica-kill': {
      const index = targetReplica(targets, fault, details);
      if (index === undefined) return;
      await holding(targets, index, async () => {
        await cluster.kill(index);
        await sleep(fault.holdMs);
        await restartAndWait(targets, index);
      });
      return;
    }
    case 'relay-kill': {
      const index = targetReplica(targets, fault, details);
      if (index === undefined) return;
      await holding(targets, index, async () => {
        const caught = await killDuringPublish(targets, index);
        if (!caught) targets.note(`${fault.label}: no publish seen within 15 s; killed r${index + 1} anyway`);
        await restartAndWait(targets, index);
      });
      return;
    }
    case 'replica-lock-pause': {
      const index = targetReplica(targets, fault, details);
      if (index === undefined) return;
      await holding(targets, index, async () => {
        try {
          await pauseHoldingLocks(targets, index, details);
          targets.note(
            details.locksHeld
              ? `${fault.label}: r${index + 1} stopped inside a transaction holding row locks (${details.lockSession?.state}, ${details.lockSession?.lockModes.join('+')} on ${details.lockSession?.tables.join(', ')}) after ${details.waitedMs} ms`
              : `${fault.label}: no transaction of r${index + 1} holding row locks within ${details.waitedMs} ms; paused it anyway`,
          );
          await sleep(fault.holdMs);
        } finally {
          cluster.resume(index);
        }
      });
      return;
    }
    case 'replica-pause':
    case 'replica-long-pause': {
      const index = targetReplica(targets, fault, details);
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
        details.skipped = "no control of the run's database";
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
    case 'kafka-produce-refusal': {
      const { kafka } = targets;
      if (!kafka) {
        targets.note(`${fault.label}: no control of the run's topics; skipped`);
        details.skipped = "no control of the run's topics";
        return;
      }
      details.topics = [...kafka.topics];
      // Reset in `finally` even when the change failed half-way.
      try {
        await kafka.refuseProduce();
        await sleep(fault.holdMs);
      } finally {
        await kafka.allowProduce();
      }
      return;
    }
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
        details.skipped = `no ${dependency} proxy`;
        return;
      }
      details.replica = index;
      details.instanceId = cluster.replicas[index]?.instanceId;
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
        await oneSided(
          targets,
          fault,
          details,
          index,
          dependency,
          async () => void (await sleep(fault.holdMs)),
        );
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
        details.skipped = `no ${dependency} proxy`;
        return;
      }
      if (network.packetFilterUnavailable) {
        targets.note(`${fault.label}: ${network.packetFilterUnavailable}; skipped`);
        details.skipped = network.packetFilterUnavailable;
        return;
      }
      details.replica = index;
      details.instanceId = cluster.replicas[index]?.instanceId;
      const rule = { host: proxy.host, port: proxy.port, refusal: fault.refusal ?? 'tcp-reset' } as const;
      await network.packetFilter.refuse(rule);
      try {
        // The rule turns down new connections only. The replica's open ones are reset now, after the rule
        // is in place, so that it reconnects into the rule at once instead of whenever its pools happen to
        // open a connection.
        network.setMode(index, dependency, { kind: 'reset' });
        network.setMode(index, dependency, { kind: 'pass' });
        await oneSided(
          targets,
          fault,
          details,
          index,
          dependency,
          async () => void (await sleep(fault.holdMs)),
        );
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
  // After the broker is up: an interrupted produce refusal leaves the topics refusing.
  await targets.kafka
    ?.heal()
    .then((healed) => {
      if (healed) targets.note("heal: the run's topics still refused produce requests; reset");
    })
    .catch((error: Error) => targets.note(`heal the produce refusal: ${error.message}`));
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
