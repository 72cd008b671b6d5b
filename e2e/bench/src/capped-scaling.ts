import type { ReplicaThrottling } from '@els/harness';
import type { LockWaits } from './lock-waits';

/**
 * Scaling where the replicas are the bottleneck: drains with 1, 3 and 5 replicas, each capped at the same
 * share of a core, beside the uncapped drains on shared cores. Efficiency is what n replicas drained
 * against n times what one did (1 = linear); the lock waits say how much of it the replicas spent queued
 * on each other's row locks.
 */
export interface CappedDrain {
  replicas: number;
  achievedPerSec: number;
  texts: number;
  lockWaits: LockWaits;
  throttling?: ReplicaThrottling[];
}

export interface CappedScaling {
  /** The cap of every replica, in cores. */
  cpus: number;
  /** Drain throughput, texts/s, by replica count. */
  throughput: Record<string, number>;
  scale3: number;
  scale5: number;
  /** throughput(n) ÷ (n × throughput(1)), by replica count. */
  efficiency: Record<string, number>;
  /** Lock waits of all replicas per drained text, ms, by replica count. */
  lockWaitMsPerText: Record<string, number>;
  /** Share of CFS periods in which the replicas were held to their cap, %, by replica count. */
  throttledPct: Record<string, number>;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

export function cappedScaling(cpus: number, drains: readonly CappedDrain[]): CappedScaling {
  const of = (n: number) => drains.find((drain) => drain.replicas === n);
  const base = of(1)?.achievedPerSec ?? 0;
  const ratio = (n: number) => (base > 0 ? round2((of(n)?.achievedPerSec ?? 0) / base) : 0);
  const byCount = (value: (drain: CappedDrain) => number) =>
    Object.fromEntries(drains.map((drain) => [String(drain.replicas), value(drain)]));
  return {
    cpus,
    throughput: byCount((drain) => drain.achievedPerSec),
    scale3: ratio(3),
    scale5: ratio(5),
    efficiency: byCount((drain) => (base > 0 ? round2(drain.achievedPerSec / (drain.replicas * base)) : 0)),
    lockWaitMsPerText: byCount((drain) =>
      round2(
        Object.values(drain.lockWaits.byReplica).reduce((sum, ms) => sum + ms, 0) / Math.max(1, drain.texts),
      ),
    ),
    throttledPct: byCount((drain) => {
      const periods = (drain.throttling ?? []).reduce((sum, r) => sum + r.periods, 0);
      const throttled = (drain.throttling ?? []).reduce((sum, r) => sum + r.throttledPeriods, 0);
      return periods > 0 ? Math.round((throttled / periods) * 100) : 0;
    }),
  };
}
