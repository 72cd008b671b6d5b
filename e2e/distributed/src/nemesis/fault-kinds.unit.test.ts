import type { Sql } from '@els/coordination';
import type { Replica, ReplicaExit, WorkerCluster } from '../harness/process-cluster';
import { applyFault } from './fault-kinds';
import type { ScheduledFault } from './fault-schedule';

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
