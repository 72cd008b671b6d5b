import fs from 'node:fs';
import { createLeakGuard } from '@els/test-kit';
import { composeInfraUp, mutantsReportDir, reportDir, workerEntry } from '@els/harness';
import { readMutantsReport } from '../report/mutants-report';
import { screenshotReport } from '../report/report-screenshot';
import { createRunReport } from '../report/run-report';
import { judgeThresholds, thresholdProblems } from '../checker/thresholds';
import { parseRunSettings, SCENARIO_NAMES } from './run-settings';
import { SCENARIO_ORDER, SCENARIO_RUNNERS } from './scenario-catalogue';

const settings = parseRunSettings(process.env);
const guard = createLeakGuard();
const report = createRunReport({
  dir: reportDir,
  instances: settings.instances,
  profile: settings.profile,
  seed: settings.seed,
  workerEntry: settings.driver === 'compose' ? 'image localhost/els-worker:local' : workerEntry,
  driver: settings.driver,
});
// The seed first, so that a failing run can be replayed whatever else it printed.
process.stdout.write(
  `[distributed] E2E_SEED=${settings.seed}${settings.seedGiven ? '' : ' (drawn at random; set E2E_SEED to replay)'}\n`,
);

describe(`distributed suite (${settings.instances} replicas, profile ${settings.profile}, driver ${settings.driver})`, () => {
  // The Compose driver's shared services (PostgreSQL, Redis, Kafka, nginx, Prometheus) run for the whole
  // run; each scenario deploys its own replicas.
  if (settings.driver === 'compose') beforeAll(() => composeInfraUp(), 600_000);
  afterAll(async () => {
    report.write();
    await guard.assertNoLeaks();
  });

  for (const id of SCENARIO_ORDER) {
    const name = SCENARIO_NAMES[id] ?? String(id);
    const run = settings.selected.has(id) ? it : it.skip;
    run(`scenario ${id} (${name}) keeps every invariant`, async () => {
      const runner = SCENARIO_RUNNERS[id];
      if (!runner) throw new Error(`no runner for scenario ${id}`);
      const { report: entry, problems } = await runner({
        settings,
        reportDir,
        onSpawn: (child) => guard.trackChild(child),
      });
      // The thresholds, with this run's limits: a crossed one fails the scenario like a violation.
      const thresholds = judgeThresholds(id, entry.measurements ?? {}, settings.thresholds);
      problems['thresholds'] = thresholdProblems(thresholds);
      entry.thresholds = thresholds;
      entry.passed &&= problems['thresholds'].length === 0;
      const failing = Object.entries(problems).filter(([, list]) => list.length > 0);
      report.add({ ...entry, problems: Object.fromEntries(failing) });
      expect({ scenario: name, ...problems }).toEqual({
        scenario: name,
        ...Object.fromEntries(Object.keys(problems).map((key) => [key, []])),
      });
    });
  }
});

// After every scenario (jest runs top-level blocks in order, and the block above has written the report).
describe('distributed report', () => {
  it('report.html renders in headless Chromium with a section and plots per scenario, saved as report.png', async () => {
    report.write();
    const { scenarios } = report.snapshot();
    const rendered = await screenshotReport(report.htmlPath);

    expect(rendered.title).toMatch(/^ELS distributed run /);
    expect(rendered.headings).toContainEqual({ level: 1, text: 'ELS distributed run' });
    const sections = rendered.headings.filter((h) => h.level === 2).map((h) => h.text);
    const mutants = readMutantsReport(mutantsReportDir);
    expect(sections.map((text) => text.split(' — ')[0])).toEqual([
      ...scenarios.map((s) => `${s.id}. ${s.name}`),
      ...(mutants ? ['Mutation self-test'] : []),
    ]);

    const withLatencies = scenarios.filter((s) => (s.latencySeries ?? []).length > 0).length;
    const withThroughput = scenarios.filter(
      (s) => Object.keys(s.throughputByReplicas ?? {}).length > 0,
    ).length;
    expect(rendered.plots.filter((label) => label === 'latency over time')).toHaveLength(withLatencies);
    expect(rendered.plots.filter((label) => label === 'throughput over time')).toHaveLength(withLatencies);
    const withRss = scenarios.filter((s) => (s.rssSeries ?? []).length > 0).length;
    expect(rendered.plots.filter((label) => label === 'rss over time')).toHaveLength(withRss);
    const withSchedule = scenarios.filter((s) => (s.schedule ?? []).length > 0).length;
    expect(rendered.rowHeaders.filter((th) => th === 'planned start')).toHaveLength(withSchedule);
    // One thresholds table per scenario that judges thresholds, one row (✓, ✗ or not judged) each.
    const thresholdRows = scenarios.reduce((n, s) => n + (s.thresholds ?? []).length, 0);
    const withThresholds = scenarios.filter((s) => (s.thresholds ?? []).length > 0).length;
    expect(rendered.rowHeaders.filter((th) => th === 'threshold')).toHaveLength(withThresholds);
    expect(rendered.text.match(/[✓✗]|not judged/g)?.length ?? 0).toBeGreaterThanOrEqual(thresholdRows);
    expect(rendered.text).toContain(`E2E_SEED=${settings.seed}`);
    expect(rendered.plots.filter((label) => label === 'throughput per replica count')).toHaveLength(
      withThroughput,
    );
    const withStatusLoad = scenarios.filter((s) => s.statusApiLoad !== undefined).length;
    expect(rendered.rowHeaders.filter((th) => th === 'status API through nginx')).toHaveLength(
      withStatusLoad,
    );

    const png = fs.readFileSync(rendered.pngPath);
    expect(png.length).toBeGreaterThan(1000);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  });
});
