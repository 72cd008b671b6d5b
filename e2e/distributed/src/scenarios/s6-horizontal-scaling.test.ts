import type { ReplicaThrottling } from '@els/harness';
import { capProblems, throttlingNote } from './s6-horizontal-scaling';

const replica = (instanceId: string, cpus: number, throttledPeriods = 40): ReplicaThrottling => ({
  instanceId,
  cpus,
  periods: 100,
  throttledPeriods,
  throttledMs: throttledPeriods * 20,
});

describe('scenario 6 with capped replicas', () => {
  it('accepts runs whose every replica was read back at the requested cap', () => {
    expect(
      capProblems(0.2, [
        { replicas: 1, throttling: [replica('r1', 0.2)] },
        { replicas: 3, throttling: [replica('r1', 0.2), replica('r2', 0.2), replica('r3', 0.2, 0)] },
      ]),
    ).toEqual([]);
  });

  it('names a run whose replicas could not all be read back (the engine ignored the cap)', () => {
    expect(capProblems(0.2, [{ replicas: 3, throttling: [replica('r1', 0.2)] }])).toEqual([
      '3 replicas: the cap of 0.2 cores could be read back for 1 of them',
    ]);
    expect(capProblems(0.2, [{ replicas: 1, throttling: undefined }])).toEqual([
      '1 replicas: the cap of 0.2 cores could be read back for 0 of them',
    ]);
  });

  it('names a replica that ran under another cap', () => {
    expect(capProblems(0.2, [{ replicas: 1, throttling: [replica('r1', 0.5)] }])).toEqual([
      'r1 ran capped at 0.5 cores, not 0.2',
    ]);
  });

  it('notes how often each replica was held back', () => {
    expect(throttlingNote(1, [replica('r1', 0.2, 30)])).toBe(
      '1 replicas capped at 0.2 cores, held back: r1 30/100 periods, 600 ms',
    );
  });
});
