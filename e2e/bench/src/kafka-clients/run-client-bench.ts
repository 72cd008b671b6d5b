// `npx nx run bench:kafka-clients` (alias `distributed:bench-kafka-clients`): CPU per produced and per
// consumed record of kafkajs (the worker's client, patched: ADR 0004) against @platformatic/kafka 1.x, each
// phase in its own process against the local stack's broker, in the worker's patterns (client-phase.ts),
// alternating the order over rounds. Writes dist/reports/bench/kafka-clients.json. Sizes: BENCH_PROFILE=quick
// for a short smoke run.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { uniqueKafkaNames } from '@els/test-kit';
import { createTestKafka, deleteTopicsWithPrefix, repoRoot, runStackOperation } from '@els/harness';
import { sampleCpu } from '../process-cpu';

const run = promisify(execFile);
const quick = process.env['BENCH_PROFILE'] === 'quick';
const RECORDS = quick ? 20_000 : 100_000;
const ROUNDS = quick ? 1 : 3;
const PARTITIONS = 12;
const LIBRARIES = ['kafkajs', 'platformatic'] as const;
type Library = (typeof LIBRARIES)[number];
type Phase = 'produce' | 'consume';

const outDir = path.join(repoRoot, 'dist', 'reports', 'bench');
const phaseEntry = path.join(__dirname, 'client-phase.ts');
const log = (message: string) =>
  process.stderr.write(`[kafka-clients] ${new Date().toISOString()} ${message}\n`);

interface PhaseResult {
  library: Library;
  phase: Phase;
  round: number;
  records: number;
  clientCpuUsPerRecord: number;
  brokerCpuUsPerRecord: number;
  recordsPerSec: number;
}

async function runPhase(library: Library, phase: Phase, topic: string, group: string, round: number) {
  const kafkaBefore = sampleCpu().kafka;
  const { stdout } = await run(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      '--tsconfig',
      path.join(repoRoot, 'e2e', 'bench', 'tsconfig.json'),
      phaseEntry,
      library,
      phase,
      topic,
      String(RECORDS),
      group,
    ],
    { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 },
  );
  const brokerCpuS = sampleCpu().kafka - kafkaBefore;
  const measured = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    cpuMs: number;
    wallMs: number;
    records: number;
  };
  if (measured.records !== RECORDS)
    throw new Error(`${library} ${phase}: ${measured.records} of ${RECORDS} records`);
  const result: PhaseResult = {
    library,
    phase,
    round,
    records: measured.records,
    clientCpuUsPerRecord: Math.round(((measured.cpuMs * 1000) / RECORDS) * 10) / 10,
    brokerCpuUsPerRecord: Math.round(((brokerCpuS * 1e6) / RECORDS) * 10) / 10,
    recordsPerSec: Math.round(RECORDS / (measured.wallMs / 1000)),
  };
  log(
    `round ${round} ${library} ${phase}: client ${result.clientCpuUsPerRecord} µs/record, broker ${result.brokerCpuUsPerRecord} µs/record, ${result.recordsPerSec} records/s`,
  );
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

async function main(): Promise<void> {
  const started = Date.now();
  await runStackOperation('up');
  const { topicPrefix } = uniqueKafkaNames('kafka-clients');
  const kafka = createTestKafka('kafka-clients');
  const admin = kafka.admin();
  await admin.connect();
  const results: PhaseResult[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate which library goes first, so neither always meets a warmer broker.
      const order = round % 2 === 1 ? LIBRARIES : [...LIBRARIES].reverse();
      for (const library of order) {
        const topic = `${topicPrefix}${library}-${round}`;
        await admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
        });
        results.push(await runPhase(library, 'produce', topic, '', round));
        results.push(
          await runPhase(library, 'consume', topic, `${topicPrefix}${library}-${round}-group`, round),
        );
      }
    }
  } finally {
    await admin.disconnect();
    await deleteTopicsWithPrefix(kafka, topicPrefix);
  }
  const summary = Object.fromEntries(
    LIBRARIES.map((library) => [
      library,
      Object.fromEntries(
        (['produce', 'consume'] as const).map((phase) => {
          const of = results.filter((r) => r.library === library && r.phase === phase);
          return [
            phase,
            {
              clientCpuUsPerRecord: median(of.map((r) => r.clientCpuUsPerRecord)),
              brokerCpuUsPerRecord: median(of.map((r) => r.brokerCpuUsPerRecord)),
              recordsPerSec: median(of.map((r) => r.recordsPerSec)),
            },
          ];
        }),
      ),
    ]),
  );
  const report = {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    profile: quick ? 'quick' : 'full',
    recordsPerPhase: RECORDS,
    rounds: ROUNDS,
    partitions: PARTITIONS,
    summary,
    results,
  };
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'kafka-clients.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    [
      `| client | produce µs/record (client / broker) | produce records/s | consume µs/record (client / broker) | consume records/s |`,
      '|---|---|---|---|---|',
      ...LIBRARIES.map((library) => {
        const s = summary[library] as Record<
          Phase,
          { clientCpuUsPerRecord: number; brokerCpuUsPerRecord: number; recordsPerSec: number }
        >;
        return `| ${library} | ${s.produce.clientCpuUsPerRecord} / ${s.produce.brokerCpuUsPerRecord} | ${s.produce.recordsPerSec} | ${s.consume.clientCpuUsPerRecord} / ${s.consume.brokerCpuUsPerRecord} | ${s.consume.recordsPerSec} |`;
      }),
      '',
    ].join('\n'),
  );
  log(`wrote ${path.relative(repoRoot, path.join(outDir, 'kafka-clients.json'))}`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[kafka-clients] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
