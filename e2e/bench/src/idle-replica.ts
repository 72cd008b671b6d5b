import { setTimeout as delay } from 'node:timers/promises';
import { uniqueKafkaNames } from '@els/test-kit';
import { createTestDatabase } from '@els/coordination/testing';
import { createTestKafka, createWorkerCluster, deleteTopicsWithPrefix } from '@els/harness';
import { sampleCpu } from './process-cpu';
import { replicaCpuSeconds } from './worker-throughput';

/** What one replica costs with nothing to do: joined to its group, no input, relay idle. */
export interface IdleReplica {
  /** Wait after readiness before the window opened, s. */
  settleS: number;
  /** Length of the measured window, s. */
  windowS: number;
  /** The replica's own CPU (process_cpu_seconds_total) over the window, % of one core. */
  replicaCorePct: number;
  /** The servers over the same window, % of one core (what the idle replica makes them do, and their own idling). */
  postgresCorePct: number;
  kafkaCorePct: number;
  redisCorePct: number;
}

/**
 * Time after readiness before the window opens: the group's first rebalance, the relay's first passes,
 * and the JIT compilation and first major garbage collection of a fresh process (5 s after readiness a
 * replica still spent about 40 % more CPU than 40 s after it).
 */
export const IDLE_SETTLE_MS = 30_000;

const pct = (cpuSeconds: number, windowS: number) => Math.round((cpuSeconds / windowS) * 1000) / 10;

/** One replica started on empty topics and a fresh database; its CPU and the servers' over `windowS`. */
export async function measureIdleReplica(
  windowS: number,
  logDir: string,
  settleMs = IDLE_SETTLE_MS,
): Promise<IdleReplica> {
  const db = await createTestDatabase({ max: 1 });
  const label = 'bench-idle';
  const { topicPrefix, consumerGroup } = uniqueKafkaNames(label);
  const kafka = createTestKafka(label);
  const cluster = createWorkerCluster({
    label,
    replicas: 1,
    databaseUrl: db.url,
    topicPrefix,
    consumerGroup,
    logDir,
  });
  try {
    await cluster.migrate();
    await cluster.start();
    await delay(settleMs);
    const replicaBefore = await replicaCpuSeconds(cluster);
    const stackBefore = sampleCpu();
    const openedAt = Date.now();
    await delay(windowS * 1000);
    const measuredS = (Date.now() - openedAt) / 1000;
    const replicaAfter = await replicaCpuSeconds(cluster);
    const stackAfter = sampleCpu();
    return {
      settleS: settleMs / 1000,
      windowS: Math.round(measuredS * 10) / 10,
      replicaCorePct: pct(replicaAfter - replicaBefore, measuredS),
      postgresCorePct: pct(stackAfter.postgres - stackBefore.postgres, measuredS),
      kafkaCorePct: pct(stackAfter.kafka - stackBefore.kafka, measuredS),
      redisCorePct: pct(stackAfter.redis - stackBefore.redis, measuredS),
    };
  } finally {
    await cluster.stop();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
    await db.drop();
  }
}
