import { createLeakGuard } from '@els/coordination/testing';
import { reportDir } from '../harness/paths';
import { createRunReport } from '../report/run-report';
import { parseRunSettings, SCENARIO_NAMES } from './run-settings';
import { SCENARIO_ORDER, SCENARIO_RUNNERS } from './scenario-catalogue';

const settings = parseRunSettings(process.env);
const guard = createLeakGuard();
const report = createRunReport({ dir: reportDir, instances: settings.instances, profile: settings.profile });

describe(`distributed suite (${settings.instances} replicas, profile ${settings.profile})`, () => {
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
      report.add(entry);
      expect({ scenario: name, ...problems }).toEqual({
        scenario: name,
        ...Object.fromEntries(Object.keys(problems).map((key) => [key, []])),
      });
    });
  }
});
