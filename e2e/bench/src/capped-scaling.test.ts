import { cappedScaling, type CappedDrain } from './capped-scaling';

const drain = (replicas: number, achievedPerSec: number, waitMs: number, throttled: number): CappedDrain => ({
  replicas,
  achievedPerSec,
  texts: 1000,
  lockWaits: { intervalMs: 100, samples: 50, byReplica: { r1: waitMs / 2, r2: waitMs / 2 } },
  throttling: Array.from({ length: replicas }, (_, i) => ({
    instanceId: `r${i + 1}`,
    cpus: 0.2,
    periods: 100,
    throttledPeriods: throttled,
    throttledMs: throttled * 10,
  })),
});

describe('capped scaling', () => {
  it('gives the ratios, the efficiency against linear, the lock waits per text and the throttled share', () => {
    const result = cappedScaling(0.2, [
      drain(1, 100, 0, 90),
      drain(3, 270, 500, 80),
      drain(5, 400, 3000, 60),
    ]);
    expect(result).toEqual({
      cpus: 0.2,
      throughput: { '1': 100, '3': 270, '5': 400 },
      scale3: 2.7,
      scale5: 4,
      efficiency: { '1': 1, '3': 0.9, '5': 0.8 },
      lockWaitMsPerText: { '1': 0, '3': 0.5, '5': 3 },
      throttledPct: { '1': 90, '3': 80, '5': 60 },
    });
  });

  it('reports zeros rather than dividing by a single replica that drained nothing', () => {
    const result = cappedScaling(0.2, [drain(1, 0, 0, 0), drain(3, 50, 0, 0)]);
    expect(result.scale3).toBe(0);
    expect(result.efficiency['3']).toBe(0);
    expect(result.scale5).toBe(0);
  });
});
