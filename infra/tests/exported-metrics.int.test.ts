import { TEST_KAFKA_BROKERS, TEST_REDIS_URL, waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from '@els/coordination/testing';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { infraDir, readText, readYaml, repoRoot } from './infra-files';
import { exportedFamilies, familyOf, metricNamesIn } from './promql-metric-names';

/**
 * Starts a real worker (the built bundle) against the local stack and checks that every metric the
 * Grafana dashboard and the alert rules query is one the worker exports.
 */

const workerMain = path.join(repoRoot, 'dist', 'apps', 'els-worker', 'main.js');
const STARTUP_TIMEOUT_MS = 60_000;
const SHUTDOWN_GRACE_MS = 10_000;
/** Series Prometheus itself creates for every target. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function queriedMetrics(): Map<string, string> {
  const sources = new Map<string, string>();
  const dashboard = JSON.parse(readText(path.join(infraDir, 'grafana', 'dashboards', 'els.json'))) as {
    panels: { title: string; targets?: { expr: string }[] }[];
  };
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      for (const name of metricNamesIn(target.expr)) sources.set(name, `dashboard panel "${panel.title}"`);
    }
  }
  const rules = readYaml<{ groups: { rules: { alert: string; expr: string }[] }[] }>(
    path.join(infraDir, 'prometheus', 'alerts.yml'),
  );
  for (const rule of rules.groups.flatMap((group) => group.rules)) {
    for (const name of metricNamesIn(rule.expr)) sources.set(name, `alert ${rule.alert}`);
  }
  return sources;
}

describe('metrics queried by the dashboard and the alerts', () => {
  let db: TestDatabase | undefined;
  let worker: ChildProcess | undefined;
  let exposition = '';
  let output = '';
  const topicPrefix = `infra-metrics-${randomUUID().slice(0, 8)}.`;
  const env = (port: number): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    ELS_DATABASE_URL: db?.url,
    ELS_REDIS_URL: TEST_REDIS_URL,
    ELS_KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
    ELS_HTTP_PORT: String(port),
    ELS_HTTP_HOST: '127.0.0.1',
    ELS_INSTANCE_ID: 'infra-metrics',
    ELS_CONSUMER_GROUP: `${topicPrefix}group`,
    ELS_TOPIC_PREFIX: topicPrefix,
    ELS_LOG_LEVEL: 'warn',
    ELS_SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
  });

  beforeAll(async () => {
    if (!fs.existsSync(workerMain)) {
      const build = spawnSync('npx', ['nx', 'run', 'els-worker:build'], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
        timeout: 180_000,
      });
      if (build.status !== 0) throw new Error(`els-worker:build failed:\n${build.stdout}${build.stderr}`);
    }
    db = await createTestDatabase({ max: 1 });
    const port = await freePort();
    const migrate = spawnSync(process.execPath, [workerMain, 'migrate'], {
      env: env(port),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (migrate.status !== 0) throw new Error(`worker migrate failed:\n${migrate.stdout}${migrate.stderr}`);
    worker = spawn(process.execPath, [workerMain, 'start'], {
      env: env(port),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      'the worker to be ready',
      async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined),
      { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 200 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; worker output:\n${output.slice(-3000)}`);
    });
    exposition = await (await fetch(`${base}/metrics`)).text();
  }, 240_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await exitOf(worker);
    }
    await db?.drop();
    const kafka = new Kafka({
      brokers: TEST_KAFKA_BROKERS,
      clientId: 'infra-metrics-cleanup',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(topicPrefix));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.deleteGroups([`${topicPrefix}group`]).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('are all exported by a running worker', () => {
    const exported = exportedFamilies(exposition);
    expect(exported.size).toBeGreaterThan(20);
    const queried = queriedMetrics();
    expect(queried.size).toBeGreaterThanOrEqual(15);
    const missing = [...queried.entries()]
      .filter(([name]) => !SYNTHETIC.has(name) && !exported.has(name) && !exported.has(familyOf(name)))
      .map(([name, source]) => `${name} (${source})`);
    expect(missing).toEqual([]);
  });

  it('include a histogram only through its _bucket series in histogram_quantile', () => {
    const histograms = [...exposition.matchAll(/^# TYPE (\S+) histogram$/gm)].map((m) => m[1] as string);
    expect(histograms).toContain('els_handler_duration_seconds');
    for (const name of queriedMetrics().keys()) expect(histograms).not.toContain(name);
  });

  it('come from a worker that stops with exit code 0 within its grace period on SIGTERM', async () => {
    const started = Date.now();
    worker?.kill('SIGTERM');
    const code = await exitOf(worker as ChildProcess);
    expect({ code, output: code === 0 ? '' : output.slice(-2000) }).toEqual({ code: 0, output: '' });
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_GRACE_MS);
  }, 30_000);
});
