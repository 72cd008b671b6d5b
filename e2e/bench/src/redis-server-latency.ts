import { Redis } from 'ioredis';
import { REDIS_URL } from '@els/harness';

/** Redis's own per-command latency (server side, without the network or the client's event loop), in µs. */
export interface RedisServerLatency {
  command: string;
  p50Us: number;
  p99Us: number;
}

/**
 * Resets Redis's statistics before a run and reads its per-command latency percentiles after it
 * (`INFO latencystats`, Redis 7). The benchmark owns the local Redis while it runs; on a shared Redis the
 * numbers would include everyone's commands.
 */
export async function redisLatencyWindow(): Promise<{ read(): Promise<RedisServerLatency[]> }> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  await redis.config('RESETSTAT');
  return {
    async read() {
      try {
        const info = await redis.info('latencystats');
        return parseLatencyStats(info);
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** `latency_percentiles_usec_mget:p50=16.063,p99=1515.519,p99.9=5865.471` → one entry per command. */
export function parseLatencyStats(info: string): RedisServerLatency[] {
  const entries: RedisServerLatency[] = [];
  for (const line of info.split(/\r?\n/)) {
    const match = /^latency_percentiles_usec_([^:]+):(.*)$/.exec(line.trim());
    if (!match) continue;
    const fields = new Map(
      (match[2] ?? '').split(',').map((pair) => {
        const [key, value] = pair.split('=');
        return [key ?? '', Number(value)] as const;
      }),
    );
    entries.push({ command: match[1] ?? '', p50Us: fields.get('p50') ?? 0, p99Us: fields.get('p99') ?? 0 });
  }
  return entries;
}
