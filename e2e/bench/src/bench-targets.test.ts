import { targetVerdicts, targetsTable, type TargetInputs } from './bench-targets';

const meeting: TargetInputs = {
  drainVsCeiling: 3.2,
  cpuPerTextAt5000: 190,
  cpuPerTextAt1000With5: 370,
  idleReplicaCorePct: 0.6,
  scale3: 0.97,
  scale5: 0.95,
  steadyP99At5000: 80,
  contentTransactionP99At1000: [
    { replicas: 1, p99: 12 },
    { replicas: 5, p99: 19.9 },
  ],
  completionP99: [
    { run: '1 × 1000/s', p99: 110 },
    { run: '3 × 5000/s', p99: 149 },
  ],
  rssGrowthPct: 4,
  rssGrowthPctByRound: [3, 9.9, -2],
};

const unmet = (inputs: TargetInputs) =>
  targetVerdicts(inputs)
    .filter((v) => !v.met)
    .map((v) => v.measure);

describe('bench targets', () => {
  it('meets every target with figures inside each bound', () => {
    expect(unmet(meeting)).toEqual([]);
  });

  it.each<[string, Partial<TargetInputs>, string]>([
    ['a drain under 3× the ceiling', { drainVsCeiling: 2.99 }, '1-replica drain'],
    ['more than 200 µs per text at 5,000/s', { cpuPerTextAt5000: 201 }, '3 replicas at 5,000/s'],
    ['more than twice that at 1,000/s', { cpuPerTextAt1000With5: 381 }, '5 replicas at 1,000/s'],
    ['a missing 1,000/s run', { cpuPerTextAt1000With5: null }, '5 replicas at 1,000/s'],
    ['an idle replica at 1 %', { idleReplicaCorePct: 1 }, 'idle replica'],
    ['five replicas slower than one', { scale5: 0.94 }, 'drain with 3 and with 5'],
    ['a 100 ms p99 at 5,000/s', { steadyP99At5000: 100 }, 'produce → assigned'],
    [
      'one slow content transaction p99',
      {
        contentTransactionP99At1000: [
          { replicas: 1, p99: 12 },
          { replicas: 3, p99: 20 },
        ],
      },
      'content transaction',
    ],
    ['no content transaction measured', { contentTransactionP99At1000: [] }, 'content transaction'],
    [
      'a paced run without a completion measured',
      {
        completionP99: [
          { run: '1 × 1000/s', p99: 100 },
          { run: '5 × 1000/s', p99: null },
        ],
      },
      'completion',
    ],
    ['one round growing by 10 %', { rssGrowthPctByRound: [2, 10, 3] }, 'RSS growth'],
    ['fewer than three rounds', { rssGrowthPctByRound: [2, 3] }, 'RSS growth'],
  ])('fails only its own target for %s', (_name, change, measure) => {
    const failing = unmet({ ...meeting, ...change });
    expect(failing).toHaveLength(1);
    expect(failing[0]).toContain(measure);
  });

  it('writes one table row per target with its verdict', () => {
    const table = targetsTable(targetVerdicts({ ...meeting, idleReplicaCorePct: 2 }));
    const rows = table.split('\n').slice(2);
    expect(rows).toHaveLength(9);
    expect(rows.filter((row) => row.endsWith('| **not met** |'))).toHaveLength(1);
    expect(rows.find((row) => row.includes('idle replica'))).toContain('2 % of a core');
  });
});
