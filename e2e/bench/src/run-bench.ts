// `npx nx run bench:run` (alias `distributed:bench`): the PostgreSQL ceiling of this machine (pgbench) and
// the worker end to end at fixed offered rates and as a backlog drain with 1, 3 and 5 replicas, all in one
// run so the ratios compare like with like. Writes dist/reports/bench/bench.json and the generated block of
// docs/reference/performance.md. Sizes: BENCH_PROFILE=quick for a short smoke run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as prettier from 'prettier';
import postgres from 'postgres';
import { repoRoot, runStackOperation } from '@els/harness';
import { TEST_SERVER_URL } from '@els/test-kit';
import { cappedScaling, type CappedScaling } from './capped-scaling';
import { targetVerdicts, targetsTable, type TargetInputs } from './bench-targets';
import { measureIdleReplica, type IdleReplica } from './idle-replica';
import { BATCH_ROWS, measurePostgresCeiling, type PgbenchResult } from './pgbench-ceiling';
import { measureWorkerRun, WARMUP_MS, type WorkerRun, type WorkerRunSpec } from './worker-throughput';

const quick = process.env['BENCH_PROFILE'] === 'quick';
/**
 * BENCH_REPLICA_CPU: the cap of each replica in the capped drains (default 0.2 cores; `off` leaves them
 * out). Capped, the replicas are the bottleneck, as in a deployment where each has its own machine.
 */
const replicaCpus = (() => {
  const raw = (process.env['BENCH_REPLICA_CPU'] ?? '0.2').trim();
  if (raw === 'off') return undefined;
  const cores = Number(raw);
  if (!(Number.isFinite(cores) && cores >= 0.01 && cores <= 64)) {
    throw new Error(`BENCH_REPLICA_CPU must be a number of cores from 0.01 to 64, or off; got "${raw}"`);
  }
  return cores;
})();
const outDir = path.join(repoRoot, 'dist', 'reports', 'bench');
const docFile = path.join(repoRoot, 'docs', 'reference', 'performance.md');
const log = (message: string) => process.stderr.write(`[bench] ${new Date().toISOString()} ${message}\n`);

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

function plan(): WorkerRunSpec[] {
  const logDir = path.join(outDir, 'logs');
  // 60,000 texts: the replicas take about 2 s to reach speed (cold code, the group forming as they join),
  // which in a drain of 20,000 texts was a third of it.
  const drain = { offeredPerSec: 0, batches: quick ? 10 : 120, slots: 500, durationS: 0, logDir };
  const paced = { offeredPerSec: 1000, batches: 4, slots: 100, durationS: quick ? 10 : 30, logDir };
  // The sustained target (bench-targets.ts): 5,000 content events/s offered for 60 s to 3 replicas.
  const sustained = {
    offeredPerSec: 5000,
    batches: 10,
    slots: 500,
    durationS: quick ? 10 : 60,
    logDir,
    replicas: 3,
  };
  // Capped drains: each replica held to `replicaCpus` of a core, the uncapped drains' backlog. One replica
  // at a fifth of a core drained 1,389 texts/s, so 10,000 texts were over in seconds and measured mostly
  // the replicas' start.
  const capped =
    replicaCpus === undefined
      ? []
      : [1, 3, 5].map((replicas) => ({
          ...drain,
          replicas,
          replicaCpus,
        }));
  return [
    ...[1, 3, 5].flatMap((replicas) => [
      { ...paced, replicas },
      { ...drain, replicas },
    ]),
    sustained,
    ...capped,
  ];
}

/** The settings of the PostgreSQL server the run measured, as it reports them. */
async function postgresSettings(): Promise<Record<string, string>> {
  const sql = postgres(`${TEST_SERVER_URL}/postgres`, { max: 1, onnotice: () => undefined });
  try {
    const rows = await sql<Array<{ name: string; setting: string; unit: string | null }>>`
      select name, setting, unit from pg_settings
       where name in ('server_version', 'autovacuum', 'shared_buffers', 'effective_cache_size', 'work_mem',
                      'max_connections', 'synchronous_commit', 'max_wal_size', 'checkpoint_timeout')
       order by name`;
    return Object.fromEntries(
      rows.map((row) => [row.name, row.unit ? `${row.setting} × ${row.unit}` : row.setting]),
    );
  } finally {
    await sql.end();
  }
}

function ratio(a: number, b: number): number {
  return b > 0 ? Math.round((a / b) * 100) / 100 : 0;
}

const runName = (r: WorkerRun) =>
  `${r.replicas} × ${r.offeredPerSec ? `${r.offeredPerSec}/s` : 'drain'}${r.replicaCpus === undefined ? '' : ` capped ${r.replicaCpus}`}`;
const pair = (x: { p50: number; p99: number } | null) => (x ? `${x.p50} / ${x.p99}` : '–');
const quad = (x: { p50: number; p95: number; p99: number; max: number } | null) =>
  x ? `${x.p50} / ${x.p95} / ${x.p99} / ${x.max}` : '–';

function startup(report: BenchReport): string {
  const values = report.runs.flatMap((r) => (r.replicaStartupCpuMs === null ? [] : [r.replicaStartupCpuMs]));
  return values.length > 0 ? `${Math.min(...values)}–${Math.max(...values)}` : '–';
}

/** What the targets look at, from one run's report. */
function targetInputs(report: BenchReport): TargetInputs {
  const run = (replicas: number, offered: number) =>
    report.runs.find((r) => r.replicas === replicas && r.offeredPerSec === offered);
  const paced = report.runs.filter((r) => r.offeredPerSec > 0);
  return {
    drainVsCeiling: report.ratios.throughputVsSingleRowCeiling,
    cpuPerTextAt5000: run(3, 5000)?.cpuMicrosPerText.total ?? null,
    cpuPerTextAt1000With5: run(5, 1000)?.cpuMicrosPerText.total ?? null,
    idleReplicaCorePct: report.idle.replicaCorePct,
    scale3: report.ratios.scale3,
    scale5: report.ratios.scale5,
    steadyP99At5000: run(3, 5000)?.steadyLatencyMs?.p99 ?? null,
    contentTransactionP99At1000: paced
      .filter((r) => r.offeredPerSec === 1000)
      .map((r) => ({ replicas: r.replicas, p99: r.stages.assignmentTransaction?.p99 ?? null })),
    completionP99: paced.map((r) => ({
      run: runName(r),
      p99: r.completion.steadyFromLastSentMs?.p99 ?? null,
    })),
    rssGrowthPct: report.memory.growthPct,
    rssGrowthPctByRound: report.memory.rounds.map((r) => r.growthPct),
  };
}

function markdown(report: BenchReport): string {
  const rows = report.runs
    .map(
      (r) =>
        `| ${r.replicas} | ${r.offeredPerSec || (r.replicaCpus === undefined ? 'drain (flat out)' : `drain, capped at ${r.replicaCpus} cores`)} | ${r.texts} | ${r.achievedPerSec} | ${quad(
          r.latencyMs,
        )} | ${quad(r.steadyLatencyMs)} | ${r.rssMb} | ${r.offsetsCommittedAfterMs} |`,
    )
    .join('\n');
  const stages = report.runs
    .map((r) => {
      const st = r.stages;
      return `| ${runName(r)} | ${st.window} | ${pair(st.fetchDelay)} | ${pair(st.redisPrefilter)} | ${pair(
        st.assignmentTransaction,
      )} | ${st.assignmentTransaction?.count ?? 0} | ${pair(st.settled)} | ${pair(st.outboxPublishLag)} | ${
        st.eventLoopLagP99Ms ?? '–'
      } |`;
    })
    .join('\n');
  const completions = report.runs
    .map(
      (r) =>
        `| ${runName(r)} | ${r.completion.batches} | ${pair(r.completion.fromLastSentMs)} | ${pair(
          r.completion.steadyFromLastSentMs,
        )} | ${pair(r.completion.fromLastAssignedMs)} |`,
    )
    .join('\n');
  return [
    `Measured ${report.startedAt} on ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB,`,
    `Node ${report.machine.node}; PostgreSQL, Redis, Kafka, the generator and every replica on the same machine;`,
    `synchronous_commit = ${report.pgbench.synchronousCommit}. Run time ${Math.round(report.durationMs / 1000)} s.`,
    '',
    '| PostgreSQL ceiling (pgbench, real schema) | value |',
    '|---|---|',
    `| one slot per transaction (claim + outbox row), ${report.pgbench.clients} clients | ${report.pgbench.singleTps} transactions/s |`,
    `| ${BATCH_ROWS} slots per transaction | ${report.pgbench.batchedRowsPerSec} slots/s |`,
    '',
    `Produce → assigned, in ms: the whole run, and "steady" = texts sent after the first ${WARMUP_MS / 1000} s.`,
    '',
    '| replicas | offered /s | texts | achieved texts/s | produce → assigned p50 / p95 / p99 / max | steady p50 / p95 / p99 / max | RSS MB (max) | offsets committed after (ms) |',
    '|---|---|---|---|---|---|---|---|',
    rows,
    '',
    "Where the time goes, p50 / p99 in ms, from the replicas' own histograms (all replicas merged, interpolated",
    "inside the Prometheus buckets 1, 2.5, 5, 10, 20, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s; the Redis pre-filter's",
    'are 0.5 … 250 ms). A value equal to the largest bucket (10000, or 250 for Redis) means at or above it.',
    `Paced runs leave out what was observed in the first ${WARMUP_MS / 1000} s (a scrape then is subtracted from the`,
    "final one); the event-loop delay p99 is the lateness of Node's delay monitor (its p99 interval minus its smallest) over the whole run, worst replica.",
    '',
    '| run | window | record → worker starts | Redis pre-filter | content transaction | transactions | record → committed | outbox → published | event-loop delay p99 |',
    '|---|---|---|---|---|---|---|---|---|',
    stages,
    '',
    "Last text → completion event on the topic, p50 / p99 in ms, from the completion records' timestamps:",
    '',
    '| run | completions | last text sent → completion, whole run | the same, after warm-up | last text assigned → completion |',
    '|---|---|---|---|---|',
    completions,
    '',
    "Redis itself (`INFO latencystats`, server side, p50 / p99 in µs): the pre-filter's lookups (MGET) and marks (SET).",
    '',
    '| run | MGET | SET |',
    '|---|---|---|',
    ...report.runs.map((r) => {
      const of = (command: string) => {
        const entry = r.redisServer.find((e) => e.command === command);
        return entry ? `${Math.round(entry.p50Us)} / ${Math.round(entry.p99Us)}` : '–';
      };
      return `| ${runName(r)} | ${of('mget')} | ${of('set')} |`;
    }),
    '',
    'CPU time per text, µs, by process (replicas from readiness on in paced runs, from process start in drains,',
    `whose replicas begin on the backlog before all are ready; start-up to readiness took ${startup(report)} ms of`,
    'CPU per replica in the paced runs; PostgreSQL with its backends; the Kafka broker; Redis; the generator',
    `while producing), and the budget the target's 5,000 texts/s leaves on ${report.machine.cpus} cores:`,
    `${Math.round((report.machine.cpus * 1e6) / 5000)} µs per text for everything.`,
    '',
    '| run | replicas | PostgreSQL | Kafka | Redis | generator | total |',
    '|---|---|---|---|---|---|---|',
    ...report.runs.map((r) => {
      const c = r.cpuMicrosPerText;
      return `| ${runName(r)} | ${c.replicas} | ${c.postgres} | ${c.kafka} | ${c.redis} | ${c.generator} | ${c.total} |`;
    }),
    '',
    `Idle replica (joined to its group, no input; ${report.idle.windowS} s after a ${report.idle.settleS} s settle): the replica`,
    `${report.idle.replicaCorePct} % of one core; over the same window PostgreSQL ${report.idle.postgresCorePct} %,`,
    `Kafka ${report.idle.kafkaCorePct} %, Redis ${report.idle.redisCorePct} % (their own idling included).`,
    '',
    `Memory against batch size: RSS of a fresh replica after ${report.memory.textsPerRun} texts in batches of each size,`,
    `the median of ${report.memory.rounds.length} round(s) (${Object.entries(report.memory.rssMbByBatchSize)
      .map(([size, mb]) => `${size}: ${mb} MB`)
      .join(', ')}); growth from the smallest to the largest ${report.memory.growthPct} %`,
    `(by round: ${report.memory.rounds.map((r) => `${r.growthPct} %`).join(', ')}).`,
    '',
    `Ratios: worker drain with 1 replica vs the one-slot-per-transaction ceiling ${report.ratios.throughputVsSingleRowCeiling};`,
    `scale3 = ${report.ratios.scale3}, scale5 = ${report.ratios.scale5} (drain throughput vs 1 replica, every process on the shared cores).`,
    '',
    ...(report.capped
      ? [
          `Capped at ${report.capped.cpus} cores per replica (the replicas the bottleneck): drains of ${JSON.stringify(report.capped.throughput)} texts/s,`,
          `scale3 = ${report.capped.scale3}, scale5 = ${report.capped.scale5}; efficiency ${JSON.stringify(report.capped.efficiency)};`,
          `lock waits per text (ms, all replicas) ${JSON.stringify(report.capped.lockWaitMsPerText)}; periods held to the cap (%) ${JSON.stringify(report.capped.throttledPct)}.`,
          '',
        ]
      : []),
    `PostgreSQL as measured: ${Object.entries(report.postgres ?? {})
      .map(([name, value]) => `${name} ${value}`)
      .join(', ')}.`,
    '',
    'Targets, judged on this run alone:',
    '',
    targetsTable(targetVerdicts(targetInputs(report))),
  ].join('\n');
}

interface MemoryByBatchSize {
  textsPerRun: number;
  /** The median over the rounds of each batch size's RSS, MB. */
  rssMbByBatchSize: Record<string, number>;
  /** RSS growth from the smallest to the largest batch size, of the medians, in %. */
  growthPct: number;
  /** Each round's RSS by batch size, and its growth in %. */
  rounds: Array<{ rssMbByBatchSize: Record<string, number>; growthPct: number }>;
}

const growth = (first: number, last: number) =>
  first > 0 ? Math.round(((last - first) / first) * 1000) / 10 : 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * RSS of one fresh replica after a backlog of the same number of texts, cut into batches of each size
 * (1,000 × 10, …, 1 × 10,000), so only the batch size changes between runs. Three rounds (one in the quick
 * profile), each going through every size: a single RSS reading moves by about 10 % from run to run.
 */
async function measureMemory(): Promise<MemoryByBatchSize> {
  const sizes = quick ? [10, 1000] : [10, 100, 1000, 10_000];
  const roundCount = quick ? 1 : 3;
  const textsPerRun = Math.max(...sizes);
  const rounds: MemoryByBatchSize['rounds'] = [];
  for (let round = 1; round <= roundCount; round += 1) {
    const rss: Record<string, number> = {};
    for (const size of sizes) {
      log(
        `memory, round ${round} of ${roundCount}: ${textsPerRun / size} batch(es) of ${size} essays, 1 replica`,
      );
      const result = await measureWorkerRun({
        replicas: 1,
        offeredPerSec: 0,
        batches: Math.ceil(textsPerRun / size),
        slots: size,
        durationS: 0,
        logDir: path.join(outDir, 'logs', `memory-${round}-${size}`),
      });
      rss[String(size)] = result.rssMb;
      log(`  RSS ${result.rssMb} MB`);
    }
    rounds.push({
      rssMbByBatchSize: rss,
      growthPct: growth(rss[String(sizes[0])] ?? 0, rss[String(sizes.at(-1))] ?? 0),
    });
  }
  const rssMbByBatchSize = Object.fromEntries(
    sizes.map((size) => [String(size), median(rounds.map((r) => r.rssMbByBatchSize[String(size)] ?? 0))]),
  );
  return {
    textsPerRun,
    rssMbByBatchSize,
    growthPct: growth(rssMbByBatchSize[String(sizes[0])] ?? 0, rssMbByBatchSize[String(sizes.at(-1))] ?? 0),
    rounds,
  };
}

interface BenchReport {
  startedAt: string;
  durationMs: number;
  profile: 'quick' | 'full';
  machine: ReturnType<typeof machine>;
  pgbench: PgbenchResult;
  idle: IdleReplica;
  runs: WorkerRun[];
  memory: MemoryByBatchSize;
  ratios: { throughputVsSingleRowCeiling: number; scale3: number; scale5: number };
  /** The drains with every replica capped (BENCH_REPLICA_CPU), absent when turned off. */
  capped?: CappedScaling;
  /** The PostgreSQL server's settings during the run. */
  postgres: Record<string, string>;
}

/** Replaces the generated block, and formats the page as `npm run format` would, so the tree stays clean. */
async function writeDoc(block: string): Promise<void> {
  const begin = '<!-- bench:begin (generated by npx nx run distributed:bench) -->';
  const end = '<!-- bench:end -->';
  const current = fs.existsSync(docFile)
    ? fs.readFileSync(docFile, 'utf8')
    : `# Performance\n\n${begin}\n${end}\n`;
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  if (start < 0 || stop < 0) throw new Error(`${docFile} lacks the bench markers`);
  const page = `${current.slice(0, start + begin.length)}\n${block}\n${current.slice(stop)}`;
  const options = (await prettier.resolveConfig(docFile)) ?? {};
  fs.writeFileSync(docFile, await prettier.format(page, { ...options, filepath: docFile }));
}

/** `--render`: rewrites the generated block from the last run's bench.json, without measuring. */
async function render(): Promise<void> {
  const report = JSON.parse(fs.readFileSync(path.join(outDir, 'bench.json'), 'utf8')) as BenchReport;
  await writeDoc(markdown(report));
  log(`rendered docs/reference/performance.md from the run of ${report.startedAt}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) return render();
  const started = Date.now();
  fs.mkdirSync(outDir, { recursive: true });
  await runStackOperation('up');
  log('PostgreSQL ceiling with pgbench');
  const pgbench = await measurePostgresCeiling(4, quick ? 5 : 10);
  log(`pgbench: ${pgbench.singleTps} single-slot tx/s, ${pgbench.batchedRowsPerSec} slots/s batched`);
  log('idle replica');
  const idle = await measureIdleReplica(
    quick ? 10 : 30,
    path.join(outDir, 'logs'),
    quick ? 10_000 : undefined,
  );
  log(
    `  replica ${idle.replicaCorePct} % of a core, PostgreSQL ${idle.postgresCorePct} %, Kafka ${idle.kafkaCorePct} %`,
  );
  const runs: WorkerRun[] = [];
  for (const spec of plan()) {
    log(
      `worker run: ${spec.replicas} replica(s), ${spec.offeredPerSec ? `${spec.offeredPerSec}/s offered` : 'backlog drain'}`,
    );
    const result = await measureWorkerRun(spec);
    log(
      `  ${result.texts} texts, ${result.achievedPerSec}/s, latency ${JSON.stringify(result.latencyMs)}, steady ${JSON.stringify(
        result.steadyLatencyMs,
      )}, transaction p50/p99 ${pair(result.stages.assignmentTransaction)} ms, completion from last sent ${pair(
        result.completion.fromLastSentMs,
      )} ms, RSS ${result.rssMb} MB`,
    );
    runs.push(result);
  }
  const memory = await measureMemory();
  const drain = (n: number) =>
    runs.find((r) => r.replicas === n && r.offeredPerSec === 0 && r.replicaCpus === undefined)
      ?.achievedPerSec ?? 0;
  const cappedDrains = runs.filter((r) => r.replicaCpus !== undefined);
  const report: BenchReport = {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    profile: quick ? 'quick' : 'full',
    machine: machine(),
    pgbench,
    idle,
    runs,
    memory,
    ratios: {
      throughputVsSingleRowCeiling: ratio(drain(1), pgbench.singleTps),
      scale3: ratio(drain(3), drain(1)),
      scale5: ratio(drain(5), drain(1)),
    },
    ...(replicaCpus === undefined ? {} : { capped: cappedScaling(replicaCpus, cappedDrains) }),
    postgres: await postgresSettings(),
  };
  fs.writeFileSync(path.join(outDir, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeDoc(markdown(report));
  log(`wrote ${path.relative(repoRoot, path.join(outDir, 'bench.json'))} and docs/reference/performance.md`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
