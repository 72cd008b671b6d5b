import type { Sql } from '@els/coordination';
import type { Replica, ReplicaExit, WorkerCluster } from '../harness/process-cluster';
import type { StackFaults } from '../harness/stack-control';
import type { DatabaseFaults } from './database-faults';
import { applyFault, healEverything, type FaultTargets } from './fault-kinds';
import type { FaultMode, FaultProxy } from './fault-proxy';
import { familyOf, type ScheduledFault } from './fault-schedule';
import type { NetworkFaults } from './network-faults';
import type { PacketFilter, RefusalRule } from './packet-filter';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A cluster of three replicas that only records lifecycle calls (each takes a few milliseconds). */
function recordingCluster() {
  const calls: string[] = [];
  const replicas: Replica[] = [0, 1, 2].map((index) => ({
    index,
    instanceId: `r${index + 1}`,
    logFile: '',
    pid: index + 100,
    port: 6000,
    state: 'running',
    child: undefined,
  }));
  const at = (index: number) => replicas[index] as Replica;
  const cluster: Partial<WorkerCluster> = {
    replicas,
    async kill(index) {
      calls.push(`kill r${index + 1}`);
      at(index).state = 'stopped';
    },
    async startReplica(index) {
      calls.push(`start r${index + 1}`);
      await sleep(30);
      at(index).state = 'running';
    },
    async waitReady() {
      await sleep(30);
    },
    async httpGet() {
      return { status: 200, body: { ready: true } };
    },
    async terminate(index): Promise<ReplicaExit> {
      calls.push(`terminate r${index + 1}`);
      await sleep(10);
      at(index).state = 'stopped';
      return { code: 0, signal: null, durationMs: 10 };
    },
  };
  return { calls, cluster: cluster as WorkerCluster };
}

const fault = (kind: ScheduledFault['kind'], replica?: number, holdMs = 0): ScheduledFault => ({
  kind,
  family: familyOf(kind),
  atMs: 0,
  holdMs,
  spanMs: holdMs,
  label: kind,
  ...(replica === undefined ? {} : { replica }),
});

/** The fault targets of a recording cluster, with the notes the actions write. */
function targetsOf(cluster: WorkerCluster) {
  const notes: string[] = [];
  return {
    notes,
    targets: {
      cluster,
      network: undefined,
      sql: undefined as unknown as Sql,
      note: (t: string) => void notes.push(t),
    },
  };
}

describe('fault actions on one replica never overlap', () => {
  it('a rolling restart leaves alone the replica a kill holds, and the kill restarts it undisturbed', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets } = targetsOf(cluster);
    await Promise.all([
      applyFault(targets, fault('replica-kill', 1, 100)),
      applyFault(targets, fault('rolling-restart')),
    ]);
    expect(calls.filter((call) => call.endsWith('r2'))).toEqual(['kill r2', 'start r2']);
    expect(calls).toEqual(expect.arrayContaining(['terminate r1', 'terminate r3']));
  });

  it('a rolling restart passes over a replica that is running but held by another fault', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets, notes } = targetsOf(cluster);
    // r1 is killed and restarted: from 30 ms it runs again but waits to be ready until 60 ms. The rolling
    // restart starts at 40 ms, when r1 counts as running yet is still held by the kill.
    await Promise.all([
      applyFault(targets, fault('replica-kill', 0, 0)),
      sleep(40).then(() => applyFault(targets, fault('rolling-restart'))),
    ]);
    expect(notes).toContain('rolling restart: r1 passed over (stopped or under another fault)');
    expect(calls.filter((call) => call.endsWith('r1'))).toEqual(['kill r1', 'start r1']);
    expect(calls).toEqual(expect.arrayContaining(['terminate r2', 'terminate r3']));
  });

  it('a second kill drawn for a replica under a fault takes another replica', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets, notes } = targetsOf(cluster);
    await Promise.all([
      applyFault(targets, fault('replica-kill', 0, 50)),
      applyFault(targets, fault('replica-kill', 0, 50)),
    ]);
    expect(calls.filter((call) => call.startsWith('kill')).sort()).toEqual(['kill r1', 'kill r2']);
    expect(notes.join('\n')).toMatch(/r1 was not running or under another fault; used r2/);
  });
});

/** A log of calls with the milliseconds since the log began. */
function callLog() {
  const startedAt = Date.now();
  const calls: Array<{ call: string; atMs: number }> = [];
  return {
    calls,
    record: (call: string) => void calls.push({ call, atMs: Date.now() - startedAt }),
    names: () => calls.map((entry) => entry.call),
  };
}

/** The run's database as the read-only fault sees it, recording what is done to it. */
function recordingDatabase(log: ReturnType<typeof callLog>, options: { failToSet?: boolean } = {}) {
  let readOnly = false;
  const database: DatabaseFaults = {
    database: 'els_test_run',
    unavailable: async () => undefined,
    async setReadOnly(on) {
      log.record(on ? 'read-only' : 'writable');
      readOnly = on;
      // As when the ALTER went through but ending the sessions failed.
      if (on && options.failToSet) throw new Error('connection lost while ending sessions');
      return 3;
    },
    isReadOnly: async () => readOnly,
    async heal() {
      if (!readOnly) return false;
      await database.setReadOnly(false);
      return true;
    },
    close: async () => undefined,
  };
  return database;
}

/** Fault proxies of three replicas (no traffic) and a packet filter, recording modes and rules. */
function recordingNetwork(log: ReturnType<typeof callLog>, unavailable?: string) {
  const rule = (r: RefusalRule) => `${r.host}:${r.port} ${r.refusal}`;
  const packetFilter: PacketFilter = {
    tag: 'els-e2e-test-p1',
    unavailable: async () => unavailable,
    refuse: async (r) => log.record(`refuse ${rule(r)}`),
    remove: async (r) => log.record(`remove ${rule(r)}`),
    removeTagged: async () => {
      log.record('remove tagged');
      return 0;
    },
    removeLeftovers: async () => [],
  };
  const dependencies = ['postgres', 'redis', 'kafka'] as const;
  const proxies = [0, 1, 2].map((index) =>
    Object.fromEntries(
      dependencies.map((dependency, d) => {
        let mode: FaultMode = { kind: 'pass' };
        const proxy: Partial<FaultProxy> = {
          host: '127.0.0.1',
          port: 40_000 + index * 10 + d,
          get mode() {
            return mode;
          },
          setMode(next: FaultMode) {
            mode = next;
            log.record(`r${index + 1} ${dependency} ${next.kind}`);
          },
        };
        return [dependency, proxy as FaultProxy];
      }),
    ),
  );
  const network: Partial<NetworkFaults> = {
    packetFilter,
    packetFilterUnavailable: unavailable,
    proxy: (index, dependency) => proxies[index]?.[dependency],
    setMode: (index, dependency, mode) => proxies[index]?.[dependency]?.setMode(mode),
    healAll: async () => log.record('heal network'),
  };
  return network as NetworkFaults;
}

const noStack: StackFaults = {
  stopPostgres: async () => undefined,
  startPostgres: async () => undefined,
  stopRedis: async () => undefined,
  startRedis: async () => undefined,
  stopKafka: async () => undefined,
  startKafka: async () => undefined,
  restartPostgres: async () => undefined,
  restartKafka: async () => undefined,
  crashPostgres: async () => undefined,
  crashKafka: async () => undefined,
};

function withTargets(extra: Partial<FaultTargets>) {
  const { cluster } = recordingCluster();
  const { targets, notes } = targetsOf(cluster);
  return { notes, targets: { ...targets, stack: noStack, ...extra } };
}

describe('postgres-read-only', () => {
  it('sets the run database read-only for the hold, then writable again', async () => {
    const log = callLog();
    const { targets } = withTargets({ database: recordingDatabase(log) });
    await applyFault(targets, fault('postgres-read-only', undefined, 120));
    expect(log.names()).toEqual(['read-only', 'writable']);
    const [set, reset] = log.calls;
    expect((reset?.atMs ?? 0) - (set?.atMs ?? 0)).toBeGreaterThanOrEqual(110);
  });

  it('makes the database writable again when setting it failed half-way', async () => {
    const log = callLog();
    const database = recordingDatabase(log, { failToSet: true });
    const { targets } = withTargets({ database });
    await expect(applyFault(targets, fault('postgres-read-only', undefined, 50))).rejects.toThrow(
      /connection lost/,
    );
    expect(log.names()).toEqual(['read-only', 'writable']);
    expect(await database.isReadOnly()).toBe(false);
  });

  it('is skipped with a note where the suite has no control of the database', async () => {
    const { targets, notes } = withTargets({ database: undefined });
    await applyFault(targets, {
      ...fault('postgres-read-only', undefined, 50),
      label: 'PostgreSQL read-only',
    });
    expect(notes).toEqual(["PostgreSQL read-only: no control of the run's database; skipped"]);
  });
});

describe('net-refuse', () => {
  const refuse = (replica: number, dependency: 'postgres' | 'redis' | 'kafka', holdMs: number) => ({
    ...fault('net-refuse', replica, holdMs),
    dependency,
    refusal: 'icmp-host-unreachable' as const,
    label: `${dependency} host unreachable r${replica + 1}`,
  });

  it("puts the rule on the replica's own proxy port, resets its open connections into it, and removes it after the hold", async () => {
    const log = callLog();
    const { targets } = withTargets({ network: recordingNetwork(log) });
    await applyFault(targets, refuse(1, 'postgres', 120));
    expect(log.names()).toEqual([
      'refuse 127.0.0.1:40010 icmp-host-unreachable',
      'r2 postgres reset',
      'r2 postgres pass',
      'remove 127.0.0.1:40010 icmp-host-unreachable',
    ]);
    const removedAtMs = log.calls.at(-1)?.atMs ?? 0;
    expect(removedAtMs - (log.calls[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(110);
  });

  it('targets the drawn dependency of the drawn replica only', async () => {
    const log = callLog();
    const { targets } = withTargets({ network: recordingNetwork(log) });
    await applyFault(targets, refuse(2, 'kafka', 10));
    expect(log.names()).toEqual([
      'refuse 127.0.0.1:40022 icmp-host-unreachable',
      'r3 kafka reset',
      'r3 kafka pass',
      'remove 127.0.0.1:40022 icmp-host-unreachable',
    ]);
  });

  it('is skipped with a note where packet filter rules cannot be used, the proxies untouched', async () => {
    const log = callLog();
    const { targets, notes } = withTargets({ network: recordingNetwork(log, 'iptables is not installed') });
    await applyFault(targets, refuse(0, 'postgres', 10));
    expect(log.names()).toEqual([]);
    expect(notes).toEqual(['postgres host unreachable r1: iptables is not installed; skipped']);
  });

  it('is skipped with a note without fault proxies (the Compose driver)', async () => {
    const { targets, notes } = withTargets({ network: undefined });
    await applyFault(targets, refuse(0, 'redis', 10));
    expect(notes).toEqual(['redis host unreachable r1: r1 has no redis proxy; skipped']);
  });
});

describe('healing after the faults', () => {
  it('resets a database a fault left read-only and removes the run’s network faults', async () => {
    const log = callLog();
    const database = recordingDatabase(log);
    await database.setReadOnly(true);
    const { targets, notes } = withTargets({ database, network: recordingNetwork(log) });
    expect(await healEverything(targets)).toEqual([]);
    expect(log.names()).toEqual(['read-only', 'heal network', 'writable']);
    expect(notes).toEqual(['heal: the run database was still read-only; reset']);
  });

  it('leaves a writable database alone: healing ends no session', async () => {
    const log = callLog();
    const { targets, notes } = withTargets({ database: recordingDatabase(log) });
    expect(await healEverything(targets)).toEqual([]);
    expect(log.names()).toEqual([]);
    expect(notes).toEqual([]);
  });
});
