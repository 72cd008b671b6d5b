/**
 * The performance targets the benchmark judges itself by (all ratios or figures inside one run), and the
 * table of measure, target and verdict it writes into its report.
 */

/** What one bench run measured that the targets look at. */
export interface TargetInputs {
  /** 1-replica drain ÷ pgbench one-slot transactions/s. */
  drainVsCeiling: number;
  /** Whole-stack CPU per text, µs: 3 replicas at 5,000/s and 5 replicas at 1,000/s. */
  cpuPerTextAt5000: number | null;
  cpuPerTextAt1000With5: number | null;
  idleReplicaCorePct: number;
  scale3: number;
  scale5: number;
  /** Produce → assigned p99 after warm-up, 3 replicas at 5,000/s, ms. */
  steadyP99At5000: number | null;
  /** Content transaction p99 after warm-up of each 1,000/s run, by replica count, ms. */
  contentTransactionP99At1000: Array<{ replicas: number; p99: number | null }>;
  /** Last text sent → completion p99 after warm-up of every paced run, ms. */
  completionP99: Array<{ run: string; p99: number | null }>;
  /** RSS growth from batches of 10 to 10,000: of the medians, and of each round, in %. */
  rssGrowthPct: number;
  rssGrowthPctByRound: number[];
}

export interface TargetVerdict {
  measure: string;
  measured: string;
  target: string;
  met: boolean;
}

export function targetVerdicts(t: TargetInputs): TargetVerdict[] {
  const tx = t.contentTransactionP99At1000;
  const completions = t.completionP99;
  const cpu5000 = t.cpuPerTextAt5000;
  const cpu1000 = t.cpuPerTextAt1000With5;
  return [
    {
      measure: '1-replica drain ÷ pgbench one-slot ceiling',
      measured: String(t.drainVsCeiling),
      target: '≥ 3.0',
      met: t.drainVsCeiling >= 3,
    },
    {
      measure: 'whole-stack CPU per text, 3 replicas at 5,000/s',
      measured: cpu5000 === null ? '–' : `${cpu5000} µs`,
      target: '≤ 200 µs',
      met: cpu5000 !== null && cpu5000 <= 200,
    },
    {
      measure: 'whole-stack CPU per text, 5 replicas at 1,000/s',
      measured:
        cpu1000 === null
          ? '–'
          : `${cpu1000} µs (${cpu5000 ? Math.round((cpu1000 / cpu5000) * 10) / 10 : '–'}×)`,
      target: '≤ 2× the 5,000/s figure',
      met: cpu1000 !== null && cpu5000 !== null && cpu1000 <= 2 * cpu5000,
    },
    {
      measure: 'CPU of an idle replica (joined, no input)',
      measured: `${t.idleReplicaCorePct} % of a core`,
      target: '< 1 %',
      met: t.idleReplicaCorePct < 1,
    },
    {
      measure: 'drain with 3 and with 5 replicas ÷ drain with 1',
      measured: `${t.scale3} / ${t.scale5}`,
      target: '≥ 0.95 / ≥ 0.95',
      met: t.scale3 >= 0.95 && t.scale5 >= 0.95,
    },
    {
      measure: 'produce → assigned p99 after warm-up, 3 replicas at 5,000/s',
      measured: t.steadyP99At5000 === null ? '–' : `${t.steadyP99At5000} ms`,
      target: '< 100 ms',
      met: t.steadyP99At5000 !== null && t.steadyP99At5000 < 100,
    },
    {
      measure: 'content transaction p99 at 1,000/s, after warm-up',
      measured: tx.map((r) => `${r.p99 ?? '–'} ms (${r.replicas} r)`).join(', ') || '–',
      target: '< 20 ms',
      met: tx.length > 0 && tx.every((r) => r.p99 !== null && r.p99 < 20),
    },
    {
      measure: 'last text → completion on the topic p99, every paced run after warm-up',
      measured: completions.map((r) => `${r.p99 ?? '–'} ms (${r.run})`).join(', ') || '–',
      target: '< 150 ms',
      met: completions.length > 0 && completions.every((r) => r.p99 !== null && r.p99 < 150),
    },
    {
      measure: 'RSS growth, batches of 10 → 10,000 at equal volume',
      measured: `${t.rssGrowthPct} % (rounds: ${t.rssGrowthPctByRound.map((g) => `${g} %`).join(', ')})`,
      target: '< 10 % in each of 3 rounds',
      met: t.rssGrowthPctByRound.length >= 3 && t.rssGrowthPctByRound.every((g) => g < 10),
    },
  ];
}

/** The verdicts as a markdown table. */
export function targetsTable(verdicts: TargetVerdict[]): string {
  return [
    '| measure | measured | target | verdict |',
    '|---|---|---|---|',
    ...verdicts.map(
      (v) => `| ${v.measure} | ${v.measured} | ${v.target} | ${v.met ? 'met' : '**not met**'} |`,
    ),
  ].join('\n');
}
