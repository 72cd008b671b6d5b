import path from 'node:path';
import { waitFor } from '@els/test-kit';
import { createLeakGuard } from '@els/test-kit';
import {
  COMPOSE_PORTS,
  composeInfraUp,
  type CounterSample,
  parseCounters,
  reportDir,
  type WorkerCluster,
} from '@els/harness';
import { parseRunSettings } from '../scenarios/run-settings';
import { runWorkload } from '../scenarios/workload-run';
import {
  activeTargets,
  alertNamesInFile,
  dashboardQueries,
  loadedRules,
  seriesCount,
  valuesByInstance,
} from './prometheus-api';

/**
 * Under the Compose driver only: the stack's Prometheus scrapes every replica (its targets API shows each
 * replica's address up, and nothing else), loads every alert rule of infra/prometheus/alerts.yml, answers
 * every query of the Grafana dashboard with data after a short load that exercises each panel
 * (assignments, duplicates, excess, pending content, validation failures, completions, dead letters), and
 * holds each replica's counters as the replica reports them, which the metrics check compares with the
 * history.
 */

const settings = parseRunSettings(process.env);
const prometheusUrl = `http://127.0.0.1:${COMPOSE_PORTS.PROMETHEUS_PORT}`;
const guard = createLeakGuard();
const describeCompose = settings.driver === 'compose' ? describe : describe.skip;

/** Samples Prometheus needs after the load before every rate over 1m has two points. */
const SCRAPES_SETTLE_MS = 15_000;

async function observe(cluster: WorkerCluster): Promise<Record<string, string[]>> {
  const expected = cluster.replicas
    .filter((replica) => replica.state === 'running')
    .map((replica) => `${replica.address}:${replica.port}`)
    .sort();
  const targetProblems = async () => {
    const workers = (await activeTargets(prometheusUrl)).filter((t) => t.job === 'els-worker');
    const problems = workers
      .filter((t) => t.health !== 'up')
      .map((t) => `${t.instance} is ${t.health}: ${t.lastError}`);
    const seen = workers.map((t) => t.instance).sort();
    if (JSON.stringify(seen) !== JSON.stringify(expected))
      problems.push(`targets ${seen.join(', ')}; replicas ${expected.join(', ')}`);
    return problems;
  };
  // DNS service discovery refreshes every 10 s and a new target is up after its first scrape.
  let targets: string[] = [];
  await waitFor(
    'Prometheus to scrape exactly the running replicas',
    async () => (targets = await targetProblems()).length === 0,
    { timeoutMs: 60_000, intervalMs: 2000 },
  ).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, SCRAPES_SETTLE_MS));

  const rules = await loadedRules(prometheusUrl);
  const ruleProblems = [
    ...alertNamesInFile()
      .filter((name) => !rules.some((rule) => rule.name === name))
      .map((name) => `alert ${name} not loaded`),
    ...rules.filter((rule) => rule.health === 'err').map((rule) => `alert ${rule.name} fails to evaluate`),
  ];
  const queryProblems: string[] = [];
  for (const query of dashboardQueries()) {
    const count = await seriesCount(prometheusUrl, query.expr).catch((error: Error) => {
      queryProblems.push(`${query.panel}: ${query.expr}: ${error.message}`);
      return -1;
    });
    if (count === 0) queryProblems.push(`${query.panel}: no data for ${query.expr}`);
  }
  return {
    targets,
    rules: ruleProblems,
    dashboardQueries: queryProblems,
    prometheusCounters: await counterProblems(cluster),
  };
}

/** The counters Prometheus must hold as the replicas report them, per replica. */
const SCRAPED_COUNTERS: ReadonlyArray<[metric: string, field: keyof Omit<CounterSample, 'deadLetters'>]> = [
  ['els_slot_assignments_total', 'slotAssignments'],
  ['els_excess_reports_total', 'excess'],
  ['els_batch_completions_total', 'completions'],
  ['els_events_consumed_total', 'consumed'],
];

/**
 * What Prometheus scraped against what each replica reports now, after the run settled (nothing changes
 * any more; the replicas' own counters are checked against the history by the metrics check): every
 * counter of every replica, and the dead letters by code, must agree once Prometheus has scraped again.
 */
async function counterProblems(cluster: WorkerCluster): Promise<string[]> {
  const running = cluster.replicas.filter((replica) => replica.state === 'running');
  const reported = new Map<string, CounterSample>();
  for (const replica of running) {
    const { body } = await cluster.httpGet(replica.index, '/metrics');
    reported.set(`${replica.address}:${replica.port}`, parseCounters(String(body)));
  }
  const compare = async () => {
    const problems: string[] = [];
    for (const [metric, field] of SCRAPED_COUNTERS) {
      const scraped = await valuesByInstance(
        prometheusUrl,
        `sum by (instance) (${metric}{job="els-worker"})`,
      );
      for (const [instance, counters] of reported) {
        if (scraped[instance] !== counters[field])
          problems.push(
            `${metric} of ${instance}: Prometheus ${scraped[instance] ?? 'none'}, the replica ${counters[field]}`,
          );
      }
    }
    const letters = await valuesByInstance(
      prometheusUrl,
      'sum by (instance) (els_dead_letters_total{job="els-worker"})',
    );
    for (const [instance, counters] of reported) {
      const total = Object.values(counters.deadLetters).reduce((sum, n) => sum + n, 0);
      if ((letters[instance] ?? 0) !== total)
        problems.push(
          `els_dead_letters_total of ${instance}: Prometheus ${letters[instance] ?? 'none'}, the replica ${total}`,
        );
    }
    return problems;
  };
  // The next scrape (every 5 s) carries the settled values.
  let problems: string[] = [];
  await waitFor(
    'Prometheus to hold the counters the replicas report',
    async () => (problems = await compare()).length === 0,
    {
      timeoutMs: 30_000,
      intervalMs: 1000,
    },
  ).catch(() => undefined);
  return problems;
}

describeCompose('Compose stack observability', () => {
  beforeAll(() => composeInfraUp(), 600_000);
  afterAll(() => guard.assertNoLeaks());

  it('Prometheus scrapes every replica, loads every alert rule, and has data for every dashboard query', async () => {
    let observed: Record<string, string[]> = { observed: ['the load never settled'] };
    const label = 'observability-3r';
    const run = await runWorkload({
      label,
      driver: 'compose',
      replicas: 3,
      seed: settings.seed,
      logDir: path.join(reportDir, 'logs', label),
      onSpawn: (child) => guard.trackChild(child),
      workload: {
        batches: 4,
        slots: 10,
        duplicateRatio: 0.2,
        excessRatio: 0.2,
        beforeRegistration: 0.3,
        validationFailures: 1,
        malformed: 1,
      },
      ratePerSec: 0,
      durationMs: 0,
      waves: 2,
      settleTimeoutMs: 90_000,
      afterSettle: async (cluster) => {
        observed = await observe(cluster);
      },
    });
    // The replicas' counters against the history (the metrics check), Prometheus's against the replicas'.
    expect({
      lost: run.check.lost,
      duplicated: run.check.duplicated,
      metrics: run.metrics.errors,
      ...observed,
    }).toEqual({
      lost: [],
      duplicated: [],
      metrics: [],
      ...Object.fromEntries(Object.keys(observed).map((key) => [key, []])),
    });
  });
});
