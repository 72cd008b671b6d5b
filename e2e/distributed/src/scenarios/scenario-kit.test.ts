import { familyOf, type ScheduledFault } from '../nemesis/fault-schedule';
import { describeFaults } from './scenario-kit';
import type { WorkloadRunResult } from './workload-run';

const ids = ['s7-faults-3r-r1', 's7-faults-3r-r2', 's7-faults-3r-r3'];

function runWith(faults: WorkloadRunResult['faults'], notes: string[] = []): WorkloadRunResult {
  return { faults, notes, replicaIds: ids } as unknown as WorkloadRunResult;
}

const planned = (kind: ScheduledFault['kind'], label: string, replica?: number): ScheduledFault => ({
  kind,
  family: familyOf(kind),
  label,
  atMs: 0,
  holdMs: 0,
  spanMs: 0,
  ...(replica === undefined ? {} : { replica }),
});

describe('the fault windows the progress check judges', () => {
  it('takes kind and replica from the schedule entry of the same label, the n-th window the n-th entry', () => {
    const schedule = [
      planned('replica-pause', 'SIGSTOP r2 4.0 s', 1),
      planned('replica-pause', 'SIGSTOP r2 4.0 s', 2),
      planned('kafka-crash', 'kafka-crash'),
    ];
    const run = runWith([
      { label: 'kafka-crash', startMs: 5, endMs: 9 },
      { label: 'SIGSTOP r2 4.0 s', startMs: 1, endMs: 2 },
      { label: 'SIGSTOP r2 4.0 s', startMs: 3, endMs: 4 },
    ]);
    expect(describeFaults(run, { schedule })).toEqual([
      { label: 'kafka-crash', kind: 'kafka-crash', startMs: 5, endMs: 9 },
      { label: 'SIGSTOP r2 4.0 s', kind: 'replica-pause', replica: ids[1], startMs: 1, endMs: 2 },
      { label: 'SIGSTOP r2 4.0 s', kind: 'replica-pause', replica: ids[2], startMs: 3, endMs: 4 },
    ]);
  });

  it('follows the nemesis to the replica it really used, and prefers what the window itself records', () => {
    const schedule = [planned('replica-kill', 'SIGKILL r1, down 1.0 s', 0)];
    const moved = runWith(
      [{ label: 'SIGKILL r1, down 1.0 s', startMs: 1, endMs: 2 }],
      ['SIGKILL r1, down 1.0 s: r1 was not running or under another fault; used r3'],
    );
    expect(describeFaults(moved, { schedule })[0]?.replica).toBe(ids[2]);
    const recorded = runWith([
      {
        label: 'lock pause',
        startMs: 1,
        endMs: 2,
        kind: 'replica-lock-pause',
        instanceId: 'other-r2',
        skipped: 'no running replica',
      } as WorkloadRunResult['faults'][number],
    ]);
    expect(describeFaults(recorded, { schedule })).toEqual([
      {
        label: 'lock pause',
        kind: 'replica-lock-pause',
        replica: 'other-r2',
        startMs: 1,
        endMs: 2,
        skipped: 'no running replica',
      },
    ]);
  });

  it('carries a network fault’s dependency, recorded by the window or planned by the schedule', () => {
    const schedule = [{ ...planned('net-refuse', 'kafka unreachable r3', 2), dependency: 'kafka' as const }];
    const fromSchedule = runWith([{ label: 'kafka unreachable r3', startMs: 1, endMs: 2 }]);
    expect(describeFaults(fromSchedule, { schedule })[0]).toMatchObject({
      kind: 'net-refuse',
      replica: ids[2],
      dependency: 'kafka',
    });
    const recorded = runWith([
      { label: 'redis partition r1', startMs: 1, endMs: 2, kind: 'net-blackhole', dependency: 'redis' },
    ] as WorkloadRunResult['faults']);
    expect(describeFaults(recorded, {})[0]).toMatchObject({ kind: 'net-blackhole', dependency: 'redis' });
  });

  it('names the kinds a scenario gives its own windows, and leaves the rest unknown', () => {
    const run = runWith([
      { label: 'Redis stopped', startMs: 1, endMs: 2 },
      { label: 'something else', startMs: 3, endMs: 4 },
    ]);
    expect(describeFaults(run, { kinds: { 'Redis stopped': 'redis-stopped' } }).map((f) => f.kind)).toEqual([
      'redis-stopped',
      'unknown',
    ]);
  });
});
