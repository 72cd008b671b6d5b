/**
 * A log-linear latency histogram: buckets grow by 2 % so any percentile is within 2 % of the true value,
 * in constant memory however many samples a long run records.
 */
export interface LatencyHistogram {
  record(valueMs: number): void;
  count(): number;
  percentile(p: number): number;
  max(): number;
  summary(): LatencySummary;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
}

const GROWTH = 1.02;
const FIRST_BUCKET_MS = 0.1;

function bucketOf(valueMs: number): number {
  if (valueMs <= FIRST_BUCKET_MS) return 0;
  return Math.ceil(Math.log(valueMs / FIRST_BUCKET_MS) / Math.log(GROWTH));
}

function upperBoundOf(bucket: number): number {
  return FIRST_BUCKET_MS * GROWTH ** bucket;
}

export function createLatencyHistogram(): LatencyHistogram {
  const buckets = new Map<number, number>();
  let total = 0;
  let maxMs = 0;
  const percentile = (p: number): number => {
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
      seen += buckets.get(bucket) ?? 0;
      if (seen >= rank) return Math.min(maxMs, upperBoundOf(bucket));
    }
    return maxMs;
  };
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    record(valueMs) {
      const value = Math.max(0, valueMs);
      const bucket = bucketOf(value);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      total += 1;
      if (value > maxMs) maxMs = value;
    },
    count: () => total,
    percentile,
    max: () => maxMs,
    summary: () => ({
      p50: round(percentile(50)),
      p95: round(percentile(95)),
      p99: round(percentile(99)),
      max: round(maxMs),
      count: total,
    }),
  };
}
