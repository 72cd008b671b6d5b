import { waitFor } from '@els/test-kit';
import { stackFaults } from '@els/harness';
import { assignedSoFar, outcome, pick, simple, sleep, waitForAssignments, type Runner } from './scenario-kit';
import type { LoadContext } from './workload-run';

const REDIS_STOPPED = 'Redis stopped';

/** Scenario 5: Redis stopped under load: the replicas degrade, keep assigning, and recover. */
export const redisConsistency: Runner = async (env) => {
  const durationS = env.settings.durationS ?? pick(env.settings, 10, 30);
  const observations: string[] = [];
  const problems: string[] = [];
  const duringLoad = async (context: LoadContext) => {
    await waitForAssignments(context, 0, 1, 'load to reach the replicas before Redis stops');
    const replicas = context.cluster.replicas.map((r) => r.index);
    await context.fault(REDIS_STOPPED, async () => {
      await stackFaults.stopRedis();
      try {
        const seen = await waitFor(
          'a replica to report Redis degraded',
          async () => {
            for (const index of replicas) {
              const readiness = await context.cluster.readiness(index).catch(() => undefined);
              if (readiness?.body?.dependencies.redis.degraded) return readiness;
            }
            return undefined;
          },
          { timeoutMs: 10_000, intervalMs: 200 },
        ).catch(() => undefined);
        if (seen)
          observations.push(`degraded reported by ${seen.body?.instanceId} with status ${seen.status}`);
        else problems.push('no replica reported Redis degraded within 10 s');
        // Keep Redis down for a few seconds and until the replicas have assigned more slots without it.
        const before = await assignedSoFar(context);
        await Promise.all([
          sleep(3000),
          waitForAssignments(context, before, 1, 'slots assigned while Redis is down').catch(() =>
            problems.push('no slot was assigned while Redis was down'),
          ),
        ]);
      } finally {
        await stackFaults.startRedis();
      }
    });
    await waitFor(
      'every replica to report Redis healthy again',
      async () => {
        for (const index of replicas) {
          const readiness = await context.cluster.readiness(index);
          if (readiness.body?.dependencies.redis.degraded !== false) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    ).then(
      () => observations.push('every replica healthy again after Redis returned'),
      () => problems.push('a replica still reported Redis degraded 30 s after it returned'),
    );
  };
  const run = await simple(env, 5, {
    workload: { batches: 2, slots: 20, duplicateRatio: 0.5, duplicateConcurrency: 4, duplicateMode: 'same' },
    ratePerSec: pick(env.settings, 150, 300),
    durationMs: durationS * 1000,
    duringLoad,
  });
  return outcome(5, run, { redis: problems }, observations, { kinds: { [REDIS_STOPPED]: 'redis-stopped' } });
};
