import { parseLatencyStats } from './redis-server-latency';

describe('INFO latencystats', () => {
  it('reads p50 and p99 of every command', () => {
    const info = [
      '# Latencystats',
      'latency_percentiles_usec_mget:p50=16.063,p99=1515.519,p99.9=5865.471',
      'latency_percentiles_usec_set:p50=2.007,p99=41.215,p99.9=210.943',
      '',
    ].join('\r\n');
    expect(parseLatencyStats(info)).toEqual([
      { command: 'mget', p50Us: 16.063, p99Us: 1515.519 },
      { command: 'set', p50Us: 2.007, p99Us: 41.215 },
    ]);
  });
});
