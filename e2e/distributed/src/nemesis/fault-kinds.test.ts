import type { Sql } from '@els/coordination';
import type { Replica, ReplicaExit, StackFaults, WorkerCluster } from '@els/harness';
import type { DatabaseFaults } from './database-faults';
import type { KafkaFaults } from './kafka-faults';
import { runNemesis } from './run-nemesis';
import { applyFault, healEverything, type FaultDetails, type FaultTargets } from './fault-kinds';
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
    pause(index) {
      if (at(index).state !== 'running') return;
      calls.push(`pause r${index + 1}`);
      at(index).state = 'paused';
    },
    resume(index) {
      if (at(index).state !== 'paused') return;
      calls.push(`resume r${index + 1}`);
      at(index).state = 'running';
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

  it('never stops the last replica free of faults: a third pause while two are paused is skipped', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets, notes } = targetsOf(cluster);
    const details: FaultDetails = {};
    await Promise.all([
      applyFault(targets, fault('replica-pause', 0, 60)),
      applyFault(targets, fault('replica-pause', 1, 60)),
      sleep(20).then(() => applyFault(targets, fault('replica-pause', 2, 60), details)),
    ]);
    expect(calls.filter((call) => call.startsWith('pause')).sort()).toEqual(['pause r1', 'pause r2']);
    expect(details.skipped).toBe('it would stop the last replica free of other faults');
    expect(notes.join('\n')).toMatch(/r3 is the last replica free of other faults; skipped/);
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

/**
 * The run's database as `replica-lock-pause` sees it: `sessions(call, pid)` answers the n-th look at the
 * replica's sessions in a transaction (`pid` set when it looks again at one session after the stop).
 */
function sessionsDatabase(sessions: (call: number, pid: number | null) => unknown[]) {
  const looks: Array<{ pid: number | null; name: unknown }> = [];
  const sql = ((_strings: TemplateStringsArray, ...values: unknown[]) => {
    const pid = (values.at(-1) as number | null) ?? null;
    looks.push({ pid, name: values[0] });
    return Promise.resolve(sessions(looks.length, pid));
  }) as unknown as Sql;
  return { sql, looks };
}

const lockingSession = (xid: string, tables = ['batches', 'essay_states']) => ({
  pid: 4242,
  xid,
  state: 'idle in transaction',
  xactAgeMs: 3,
  lockModes: ['RowExclusiveLock'],
  tables,
});

describe('replica-lock-pause', () => {
  it('stops the replica while its session holds row locks, for the hold, and records it', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets, notes } = targetsOf(cluster);
    // nothing on the first two looks, then a transaction that is still open once the replica is stopped
    const { sql, looks } = sessionsDatabase((call) => (call < 3 ? [] : [lockingSession('901')]));
    const details: FaultDetails = {};
    const startedAt = Date.now();
    await applyFault(
      { ...targets, sql },
      { ...fault('replica-lock-pause', 1, 120), label: 'lock pause' },
      details,
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(120);
    expect(calls).toEqual(['pause r2', 'resume r2']);
    expect(looks[0]?.name).toBe('els-worker-r2');
    expect(looks.map((look) => look.pid)).toEqual([null, null, null, 4242]);
    expect(details).toMatchObject({
      replica: 1,
      instanceId: 'r2',
      locksHeld: true,
      lockSession: {
        pid: 4242,
        state: 'idle in transaction',
        lockModes: ['RowExclusiveLock'],
        tables: ['batches', 'essay_states'],
      },
    });
    expect(details.waitedMs).toBeGreaterThanOrEqual(0);
    expect(notes.join('\n')).toMatch(/lock pause: r2 stopped inside a transaction holding row locks/);
  });

  it('lets the replica go on when the transaction ended before the stop, and stops it in the next one', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets } = targetsOf(cluster);
    // look 1: xid 7 open; look 2 (stopped): gone; look 3: xid 8 open; look 4 (stopped): still open
    const { sql } = sessionsDatabase((call) =>
      call === 1 ? [lockingSession('7')] : call === 3 || call === 4 ? [lockingSession('8')] : [],
    );
    const details: FaultDetails = {};
    await applyFault({ ...targets, sql }, fault('replica-lock-pause', 0, 10), details);
    expect(calls).toEqual(['pause r1', 'resume r1', 'pause r1', 'resume r1']);
    expect(details.locksHeld).toBe(true);
  });

  it('waits for a transaction holding rows peers wait for, and takes one holding other row locks late in the wait', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets } = targetsOf(cluster);
    // Only outbox rows (a relay's claim) are ever locked: passed over for three quarters of the 400 ms wait.
    const { sql } = sessionsDatabase(() => [lockingSession('9', ['outbox'])]);
    const details: FaultDetails = {};
    await applyFault(
      { ...targets, sql, lockPauseWaitMs: 400 },
      { ...fault('replica-lock-pause', 0, 10), label: 'lock pause' },
      details,
    );
    expect(calls).toEqual(['pause r1', 'resume r1']);
    expect(details).toMatchObject({ locksHeld: true, lockSession: { tables: ['outbox'] } });
    expect(details.waitedMs).toBeGreaterThanOrEqual(300);
  });

  it('pauses the replica anyway, and says so, when no transaction holds row locks within the wait', async () => {
    const { calls, cluster } = recordingCluster();
    const { targets, notes } = targetsOf(cluster);
    const { sql } = sessionsDatabase(() => []);
    const details: FaultDetails = {};
    await applyFault(
      { ...targets, sql, lockPauseWaitMs: 60 },
      { ...fault('replica-lock-pause', 2, 10), label: 'lock pause' },
      details,
    );
    expect(calls).toEqual(['pause r3', 'resume r3']);
    expect(details.locksHeld).toBe(false);
    expect(details.waitedMs).toBeGreaterThanOrEqual(60);
    expect(notes.join('\n')).toMatch(
      /lock pause: no transaction of r3 holding row locks within \d+ ms; paused it anyway/,
    );
  });
});

/** The run's topics as the produce refusal sees them, recording what is done to them. */
function recordingTopics(log: ReturnType<typeof callLog>, options: { failToRefuse?: boolean } = {}) {
  let refused = false;
  const kafka: KafkaFaults = {
    topics: ['p.slot', 'p.excess', 'p.completed'],
    async refuseProduce() {
      log.record('refuse produce');
      refused = true;
      if (options.failToRefuse) throw new Error('broker went away');
    },
    async allowProduce() {
      log.record('allow produce');
      refused = false;
    },
    async heal() {
      if (!refused) return false;
      await kafka.allowProduce();
      return true;
    },
  };
  return kafka;
}

describe('kafka-produce-refusal', () => {
  it("refuses produce requests to the run's topics for the hold, then allows them again", async () => {
    const log = callLog();
    const { targets } = withTargets({ kafka: recordingTopics(log) });
    const details: FaultDetails = {};
    await applyFault(targets, fault('kafka-produce-refusal', undefined, 120), details);
    expect(log.names()).toEqual(['refuse produce', 'allow produce']);
    const [set, reset] = log.calls;
    expect((reset?.atMs ?? 0) - (set?.atMs ?? 0)).toBeGreaterThanOrEqual(110);
    expect(details.topics).toEqual(['p.slot', 'p.excess', 'p.completed']);
  });

  it('allows produce again when refusing failed half-way, and healing resets a refusal left behind', async () => {
    const log = callLog();
    const { targets } = withTargets({ kafka: recordingTopics(log, { failToRefuse: true }) });
    await expect(applyFault(targets, fault('kafka-produce-refusal', undefined, 50))).rejects.toThrow(
      /broker went away/,
    );
    expect(log.names()).toEqual(['refuse produce', 'allow produce']);
    const left = recordingTopics(log);
    await left.refuseProduce();
    const { targets: healing, notes } = withTargets({ kafka: left });
    expect(await healEverything(healing)).toEqual([]);
    expect(log.names().slice(2)).toEqual(['refuse produce', 'allow produce']);
    expect(notes).toEqual(["heal: the run's topics still refused produce requests; reset"]);
  });

  it('is skipped with a note where the suite has no control of the topics', async () => {
    const { targets, notes } = withTargets({ kafka: undefined });
    const details: FaultDetails = {};
    await applyFault(
      targets,
      { ...fault('kafka-produce-refusal', undefined, 10), label: 'refusal' },
      details,
    );
    expect(notes).toEqual(["refusal: no control of the run's topics; skipped"]);
    expect(details.skipped).toBe("no control of the run's topics");
  });
});

describe('one-sided reachability', () => {
  it('names who still reaches the dependency while one replica does not, overlapping faults included', async () => {
    const log = callLog();
    const { targets, notes } = withTargets({ network: recordingNetwork(log) });
    const partition = (replica: number, holdMs: number) => ({
      ...fault('net-blackhole', replica, holdMs),
      dependency: 'postgres' as const,
      label: `postgres partition r${replica + 1}`,
    });
    const first: FaultDetails = {};
    const second: FaultDetails = {};
    await Promise.all([
      applyFault(targets, partition(0, 80), first),
      sleep(20).then(() => applyFault(targets, partition(2, 20), second)),
    ]);
    expect(first).toMatchObject({ replica: 0, reachableBy: [1, 2] });
    expect(second.reachableBy).toEqual([1]);
    expect(notes).toEqual([
      'postgres partition r1: postgres reachable by r2, r3; not by r1',
      'postgres partition r3: postgres reachable by r2; not by r1, r3',
    ]);
  });
});

describe('the nemesis serialises faults per service', () => {
  it('runs faults on one service one after another, faults on different services at once', async () => {
    const log = callLog();
    const slow = (name: string) => async () => {
      log.record(`${name} begins`);
      await sleep(60);
      log.record(`${name} ends`);
    };
    const stack: StackFaults = {
      ...noStack,
      crashKafka: slow('kafka crash'),
      restartPostgres: slow('postgres restart'),
    };
    const { cluster } = recordingCluster();
    const { targets } = targetsOf(cluster);
    const windows: Array<{ label: string; details?: FaultDetails }> = [];
    const at = (kind: ScheduledFault['kind'], label: string): ScheduledFault => ({ ...fault(kind), label });
    await runNemesis(
      [at('kafka-crash', 'crash'), at('postgres-restart', 'restart'), at('kafka-produce-refusal', 'refusal')],
      { ...targets, stack, kafka: recordingTopics(log) },
      {
        async fault(label, action, details) {
          try {
            return await action();
          } finally {
            windows.push({ label, ...(details ? { details } : {}) });
          }
        },
      },
    );
    const names = log.names();
    // the crash and the PostgreSQL restart overlap; the refusal waits for both (it holds PostgreSQL too)
    expect(names.slice(0, 2).sort()).toEqual(['kafka crash begins', 'postgres restart begins']);
    expect(names.indexOf('refuse produce')).toBeGreaterThan(names.indexOf('kafka crash ends'));
    expect(names.indexOf('refuse produce')).toBeGreaterThan(names.indexOf('postgres restart ends'));
    expect(windows.find((window) => window.label === 'refusal')?.details).toMatchObject({
      kind: 'kafka-produce-refusal',
      family: 'kafka',
    });
  });
});
