import { exportedFamilies, familyOf, metricNamesIn } from './promql-metric-names';

describe('metricNamesIn', () => {
  it('finds the metric under functions, aggregations, label matchers and ranges', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, event) (rate(els_handler_duration_seconds_bucket{job="els-worker"}[$__rate_interval])))',
      ),
    ).toEqual(['els_handler_duration_seconds_bucket']);
  });

  it('finds every operand of a binary expression and ignores keywords and numbers', () => {
    expect(
      metricNamesIn(
        'sum(a_rows) > 1e3 and sum(deriv(b_rows[5m])) > 0 or absent(c_joined) unless on (instance) d',
      ),
    ).toEqual(['a_rows', 'b_rows', 'c_joined', 'd']);
  });

  it('does not take label names or label values for metrics', () => {
    expect(metricNamesIn('sum by (topic) (lag{topic=~"huleedu.x", code!="ELS_ERR_INTERNAL"}) > 10')).toEqual([
      'lag',
    ]);
  });
});

describe('familyOf and exportedFamilies', () => {
  it('maps histogram series to their family and reads # TYPE lines', () => {
    expect(familyOf('els_handler_duration_seconds_bucket')).toBe('els_handler_duration_seconds');
    expect(familyOf('els_dead_letters_total')).toBe('els_dead_letters_total');
    const families = exportedFamilies('# HELP a x\n# TYPE a counter\na 1\n# TYPE b_seconds histogram\n');
    expect([...families]).toEqual(['a', 'b_seconds']);
  });
});
