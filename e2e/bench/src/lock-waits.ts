import type { Sql } from '@els/coordination';
import { WORKER_SESSION_PREFIX } from '@els/harness';

/**
 * Time the replicas' sessions spent waiting for locks (another transaction's row locks: a batch's counter
 * row, a claimed slot), sampled from `pg_stat_activity` every `intervalMs` while a run goes on: each sample
 * that finds a session waiting (`wait_event_type = 'Lock'`) counts one interval for its replica. A
 * sampled estimate, good to the interval, of what the counter rows cost as replicas are added.
 */
export interface LockWaitSampler {
  /** Stops sampling; per replica (its session's `application_name` without the `els-worker-` prefix), ms waited. */
  stop(): Promise<LockWaits>;
}

export interface LockWaits {
  intervalMs: number;
  samples: number;
  /** Per replica instance id, the estimated ms its sessions spent waiting for locks (summed over sessions). */
  byReplica: Record<string, number>;
}

export function sampleLockWaits(sql: Sql, intervalMs = 100): LockWaitSampler {
  const byReplica: Record<string, number> = {};
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await sql<Array<{ name: string; waiting: number }>>`
        select application_name as name, count(*)::int as waiting
          from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'
           and application_name like ${`${WORKER_SESSION_PREFIX}%`}
         group by application_name`.catch(() => []);
      samples += 1;
      for (const row of rows) {
        const replica = row.name.slice(WORKER_SESSION_PREFIX.length);
        byReplica[replica] = (byReplica[replica] ?? 0) + row.waiting * intervalMs;
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { intervalMs, samples, byReplica };
    },
  };
}
