import path from 'node:path';
import { composeFile, infraDir, readText, readYaml } from './infra-files';
import { metricNamesIn } from './promql-metric-names';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  gridPos?: { h: number; w: number; x: number; y: number };
}

const dashboard = JSON.parse(readText(path.join(infraDir, 'grafana', 'dashboards', 'els.json'))) as {
  uid: string;
  title: string;
  panels: Panel[];
};
const datasources = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>(
  path.join(infraDir, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
).datasources;

describe('infra/grafana', () => {
  it('provisions the Prometheus service of the Compose file as a datasource', () => {
    expect(datasources).toHaveLength(1);
    expect(datasources[0]?.type).toBe('prometheus');
    expect(datasources[0]?.url).toBe('http://prometheus:9090');
  });

  it('loads dashboards from the folder the Compose file mounts them into', () => {
    const provider = readYaml<{ providers: { options: { path: string } }[] }>(
      path.join(infraDir, 'grafana', 'provisioning', 'dashboards', 'els.yml'),
    ).providers[0];
    expect(readText(composeFile)).toContain(`../grafana/dashboards:${provider?.options.path}:ro`);
  });

  it('gives every panel a unique id, a position, the provisioned datasource and at least one query', () => {
    const uid = datasources[0]?.uid;
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(12);
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      const summary = {
        title: panel.title,
        datasource: panel.datasource?.uid,
        targets: (panel.targets ?? []).length > 0,
        gridPos: Boolean(panel.gridPos),
        refIdsUnique:
          new Set((panel.targets ?? []).map((t) => t.refId)).size === (panel.targets ?? []).length,
        exprs: (panel.targets ?? []).every((t) => t.expr.trim() !== '' && t.datasource?.uid === uid),
      };
      expect(summary).toEqual({
        title: panel.title,
        datasource: uid,
        targets: true,
        gridPos: true,
        refIdsUnique: true,
        exprs: true,
      });
    }
  });

  it('shows assignments, duplicates, excess, completions, dead letters, latency, relay, lag, Redis, memory and CPU', () => {
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));
    const names = new Set(exprs.flatMap(metricNamesIn));
    for (const metric of [
      'els_slot_assignments_total',
      'els_duplicate_events_total',
      'els_excess_reports_total',
      'els_batch_completions_total',
      'els_dead_letters_total',
      'els_handler_duration_seconds_bucket',
      'els_outbox_backlog_rows',
      'els_outbox_publish_lag_seconds_bucket',
      'els_consumer_lag_messages',
      'els_redis_degraded',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
    ]) {
      expect({ metric, shown: names.has(metric) }).toEqual({ metric, shown: true });
    }
    for (const quantile of ['0.5', '0.95', '0.99']) {
      expect(
        exprs.some(
          (e) =>
            e.startsWith(`histogram_quantile(${quantile},`) &&
            e.includes('els_handler_duration_seconds_bucket'),
        ),
      ).toBe(true);
    }
    expect(exprs).toContain('sum by (instance) (els_consumer_lag_messages)');
  });
});
