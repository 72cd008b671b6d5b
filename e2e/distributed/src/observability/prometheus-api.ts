import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '@els/harness';

/**
 * What the Compose stack's Prometheus says about the deployment, through its HTTP API: the scrape targets,
 * the alert rules it loaded, and the result of each query of the Grafana dashboard.
 */

export interface PrometheusTarget {
  job: string;
  instance: string;
  health: string;
  lastError: string;
}

async function api<T>(baseUrl: string, apiPath: string): Promise<T> {
  const response = await fetch(`${baseUrl}${apiPath}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${apiPath}: ${body.error ?? body.status}`);
  return body.data;
}

export async function activeTargets(baseUrl: string): Promise<PrometheusTarget[]> {
  const data = await api<{
    activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }>;
  }>(baseUrl, '/api/v1/targets?state=active');
  return data.activeTargets.map((t) => ({
    job: t.labels['job'] ?? '',
    instance: t.labels['instance'] ?? '',
    health: t.health,
    lastError: t.lastError,
  }));
}

/** The alerting rules Prometheus loaded, with their evaluation health. */
export async function loadedRules(baseUrl: string): Promise<Array<{ name: string; health: string }>> {
  const data = await api<{ groups: Array<{ rules: Array<{ name: string; health: string; type: string }> }> }>(
    baseUrl,
    '/api/v1/rules?type=alert',
  );
  return data.groups.flatMap((group) =>
    group.rules.map((rule) => ({ name: rule.name, health: rule.health })),
  );
}

/** The alert names of infra/prometheus/alerts.yml. */
export function alertNamesInFile(): string[] {
  const file = path.join(repoRoot, 'infra', 'prometheus', 'alerts.yml');
  const doc = parseYaml(fs.readFileSync(file, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string }> }>;
  };
  return doc.groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));
}

export interface DashboardQuery {
  panel: string;
  expr: string;
}

/** Every query of infra/grafana/dashboards/els.json, with Grafana's `$__rate_interval` as 1m. */
export function dashboardQueries(): DashboardQuery[] {
  const file = path.join(repoRoot, 'infra', 'grafana', 'dashboards', 'els.json');
  const dashboard = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    panels: Array<{ title?: string; targets?: Array<{ expr?: string }> }>;
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).flatMap((target) =>
      target.expr
        ? [{ panel: panel.title ?? '', expr: target.expr.replaceAll('$__rate_interval', '1m') }]
        : [],
    ),
  );
}

/** How many series an instant query returns. */
export async function seriesCount(baseUrl: string, expr: string): Promise<number> {
  const data = await api<{ result: unknown[] }>(baseUrl, `/api/v1/query?query=${encodeURIComponent(expr)}`);
  return data.result.length;
}

/** An instant query's value per `instance` label (series without one are left out). */
export async function valuesByInstance(baseUrl: string, expr: string): Promise<Record<string, number>> {
  const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
    baseUrl,
    `/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  const values: Record<string, number> = {};
  for (const series of data.result) {
    const instance = series.metric['instance'];
    if (instance !== undefined) values[instance] = Number(series.value[1]);
  }
  return values;
}
