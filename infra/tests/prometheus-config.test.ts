import path from 'node:path';
import { infraDir, readText, readYaml, repoRoot, runTool } from './infra-files';

const prometheusDir = path.join(infraDir, 'prometheus');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string; annotations?: Record<string, string> }[] }[];
}

const alerts = readYaml<RuleFile>(path.join(prometheusDir, 'alerts.yml')).groups.flatMap(
  (group) => group.rules,
);

describe('infra/prometheus', () => {
  it('prometheus.yml passes promtool check config (with its rule file)', () => {
    const result = runTool('promtool', ['check', 'config', 'prometheus.yml'], 'prometheus', {
      cwd: prometheusDir,
    });
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('alerts.yml passes promtool check rules', () => {
    const result = runTool('promtool', ['check', 'rules', 'alerts.yml'], 'prometheus', {
      cwd: prometheusDir,
    });
    expect(result.status).toBe(0);
  });

  it('every alert fires in its promtool unit test (alerts.test.yml)', () => {
    const result = runTool('promtool', ['test', 'rules', 'alerts.test.yml'], 'prometheus', {
      cwd: prometheusDir,
    });
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
    expect(result.status).toBe(0);
    const tests = readText(path.join(prometheusDir, 'alerts.test.yml'));
    const untested = alerts.filter(
      (rule) => !tests.includes(`alertname: ${rule.alert}\n        exp_alerts:\n          - exp_labels`),
    );
    expect(untested.map((rule) => rule.alert)).toEqual([]);
  });

  it('covers replica down, relay backlog, dead letters and consumer lag', () => {
    const byMetric = (metric: string) =>
      alerts.filter((rule) => rule.expr.includes(metric)).map((rule) => rule.alert);
    expect(byMetric('up{job="els-worker"}')).not.toEqual([]);
    expect(byMetric('els_outbox_backlog_rows')).not.toEqual([]);
    expect(byMetric('els_dead_letters_total')).not.toEqual([]);
    expect(byMetric('els_consumer_lag_messages')).not.toEqual([]);
  });

  it('has a runbook entry in docs/guides/operate.md for every alert', () => {
    const guide = readText(path.join(repoRoot, 'docs', 'guides', 'operate.md'));
    for (const rule of alerts) {
      expect({ alert: rule.alert, runbook: rule.annotations?.['runbook'] }).toEqual({
        alert: rule.alert,
        runbook: `docs/guides/operate.md#${rule.alert?.toLowerCase()}`,
      });
      expect({ alert: rule.alert, heading: guide.includes(`\n### ${rule.alert}\n`) }).toEqual({
        alert: rule.alert,
        heading: true,
      });
    }
  });

  it('discovers every replica through DNS', () => {
    const config = readYaml<{
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    }>(path.join(prometheusDir, 'prometheus.yml'));
    const job = config.scrape_configs.find((scrape) => scrape.job_name === 'els-worker');
    expect(job?.dns_sd_configs?.[0]?.names).toContain('els-worker');
    expect(job?.dns_sd_configs?.[0]?.port).toBe(6000);
  });
});
