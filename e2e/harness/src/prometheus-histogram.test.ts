import { histogramQuantile, mergeHistogram, metricValues, subtractHistogram } from './prometheus-histogram';

const replica = (le001: number, le01: number, le1: number, inf: number, sum: number) => `
# HELP els_x_seconds A test histogram.
# TYPE els_x_seconds histogram
els_x_seconds_bucket{le="0.001",event="content"} ${le001}
els_x_seconds_bucket{le="0.01",event="content"} ${le01}
els_x_seconds_bucket{le="0.1",event="content"} ${le1}
els_x_seconds_bucket{le="+Inf",event="content"} ${inf}
els_x_seconds_sum{event="content"} ${sum}
els_x_seconds_count{event="content"} ${inf}
els_x_seconds_bucket{le="0.001",event="registration"} 1000
els_x_seconds_bucket{le="+Inf",event="registration"} 1000
els_x_seconds_count{event="registration"} 1000
`;

describe('Prometheus histograms merged across replicas', () => {
  const merged = mergeHistogram([replica(0, 50, 90, 100, 3), replica(0, 50, 100, 100, 2)], 'els_x_seconds', {
    event: 'content',
  });

  it('adds the buckets, counts and sums of every replica, only for the wanted labels', () => {
    expect(merged.count).toBe(200);
    expect(merged.sumSeconds).toBe(5);
    expect(merged.buckets).toEqual([
      { le: 0.001, count: 0 },
      { le: 0.01, count: 100 },
      { le: 0.1, count: 190 },
      { le: Number.POSITIVE_INFINITY, count: 200 },
    ]);
  });

  it('interpolates a quantile inside the bucket that holds its rank', () => {
    // rank 100 of 200 is the top of the 1–10 ms bucket; rank 150 is 50 of the 90 in the 10–100 ms one.
    expect(histogramQuantile(merged, 0.5)).toEqual({ ms: 10, bucketBoundMs: 10 });
    expect(histogramQuantile(merged, 0.75)?.ms).toBeCloseTo(10 + (90 * 50) / 90, 5);
  });

  it('says when the quantile lies above the largest finite bucket', () => {
    expect(histogramQuantile(merged, 0.99)).toEqual({ ms: 100, bucketBoundMs: Number.POSITIVE_INFINITY });
  });

  it('has no quantile without observations', () => {
    expect(histogramQuantile(mergeHistogram([], 'els_x_seconds'), 0.5)).toBeUndefined();
  });

  it('subtracts an earlier scrape to keep only what was observed after it', () => {
    const earlier = mergeHistogram([replica(0, 40, 40, 40, 0.2)], 'els_x_seconds', { event: 'content' });
    const later = mergeHistogram([replica(0, 50, 90, 100, 3)], 'els_x_seconds', { event: 'content' });
    const window = subtractHistogram(later, earlier);
    expect(window.count).toBe(60);
    expect(window.sumSeconds).toBeCloseTo(2.8, 10);
    expect(window.buckets.map((b) => b.count)).toEqual([0, 10, 50, 60]);
    expect(histogramQuantile(window, 0.5)?.bucketBoundMs).toBe(100);
  });

  it('reads an unlabelled gauge from every exposition that has it, ignoring labelled series', () => {
    const a = 'process_cpu_seconds_total 1.5\nnodejs_eventloop_lag_p99_seconds 0.02\n';
    const b = 'process_cpu_seconds_total{instance="x"} 9\nprocess_cpu_seconds_total 2.25\n';
    expect(metricValues([a, b, ''], 'process_cpu_seconds_total')).toEqual([1.5, 2.25]);
  });
});
