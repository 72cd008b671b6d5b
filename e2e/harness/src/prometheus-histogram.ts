/**
 * Reads Prometheus metrics out of the text exposition of several replicas: plain gauges and counters, and
 * histograms, which are merged (the buckets of every replica add up, as `sum by (le)` would) and whose
 * quantiles are estimated the way `histogram_quantile` does: linear interpolation inside the bucket that
 * holds the rank. The estimate is only as fine as the
 * buckets; `bucketBoundMs` says which upper bound the quantile fell under.
 */
export interface MergedHistogram {
  /** Cumulative counts by upper bound in seconds, ascending; the last bound is +Inf. */
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sumSeconds: number;
}

export interface HistogramQuantile {
  ms: number;
  /** Upper bound (ms) of the bucket the quantile fell in; Infinity when above the largest finite bound. */
  bucketBoundMs: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$/;

function labelsOf(text: string | undefined): Map<string, string> {
  const labels = new Map<string, string>();
  if (!text) return labels;
  for (const part of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels.set(part[1] ?? '', part[2] ?? '');
  }
  return labels;
}

function matches(labels: Map<string, string>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels.get(key) === value);
}

/** The values of an unlabelled gauge or counter, one per exposition that has it. */
export function metricValues(expositions: readonly string[], name: string): number[] {
  const values: number[] = [];
  for (const text of expositions) {
    for (const line of text.split('\n')) {
      const match = LINE.exec(line.trim());
      if (match?.[1] === name && match[2] === undefined && Number.isFinite(Number(match[3]))) {
        values.push(Number(match[3]));
      }
    }
  }
  return values;
}

/** Merges histogram `name` (restricted to series carrying `labels`) across the given exposition texts. */
export function mergeHistogram(
  expositions: readonly string[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): MergedHistogram {
  const byBound = new Map<number, number>();
  let count = 0;
  let sumSeconds = 0;
  for (const text of expositions) {
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const match = LINE.exec(line.trim());
      if (!match) continue;
      const [, metric, labelText, valueText] = match;
      const value = Number(valueText);
      const parsed = labelsOf(labelText);
      if (!matches(parsed, labels) || !Number.isFinite(value)) continue;
      if (metric === `${name}_bucket`) {
        const le = parsed.get('le') === '+Inf' ? Number.POSITIVE_INFINITY : Number(parsed.get('le'));
        byBound.set(le, (byBound.get(le) ?? 0) + value);
      } else if (metric === `${name}_count`) count += value;
      else if (metric === `${name}_sum`) sumSeconds += value;
    }
  }
  const buckets = [...byBound].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le);
  return { buckets, count, sumSeconds };
}

/** The q-quantile (0..1) of a merged histogram, or undefined when it holds no observation. */
export function histogramQuantile(histogram: MergedHistogram, q: number): HistogramQuantile | undefined {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let previousBound = 0;
  let previousCount = 0;
  for (const { le, count } of histogram.buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) {
        return { ms: previousBound * 1000, bucketBoundMs: Number.POSITIVE_INFINITY };
      }
      const inBucket = count - previousCount;
      const fraction = inBucket > 0 ? (rank - previousCount) / inBucket : 1;
      const seconds = previousBound + (le - previousBound) * fraction;
      return { ms: Math.round(seconds * 1000 * 100) / 100, bucketBoundMs: le * 1000 };
    }
    previousBound = le;
    previousCount = count;
  }
  return undefined;
}

/** `later − earlier` of the same histogram: the observations made between two scrapes. */
export function subtractHistogram(later: MergedHistogram, earlier: MergedHistogram): MergedHistogram {
  const before = new Map(earlier.buckets.map((bucket) => [bucket.le, bucket.count]));
  return {
    buckets: later.buckets.map(({ le, count }) => ({ le, count: count - (before.get(le) ?? 0) })),
    count: later.count - earlier.count,
    sumSeconds: later.sumSeconds - earlier.sumSeconds,
  };
}
