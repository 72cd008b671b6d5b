import type { RunReport, ScenarioReport } from './run-report';

/** report.html: a summary table and inline SVG plots (no scripts, no external resources). */

const WIDTH = 720;
const HEIGHT = 220;
const MARGIN = { left: 56, right: 16, top: 16, bottom: 32 };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function axisTicks(max: number): number[] {
  if (max <= 0) return [0];
  const step = 10 ** Math.floor(Math.log10(max));
  const unit = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += unit) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

/** Latency of each slot-assigned event against its send time, fault windows shaded. */
function latencyPlot(scenario: ScenarioReport): string {
  const points = scenario.latencySeries ?? [];
  if (points.length === 0) return '<p class="muted">No slot-assigned latencies recorded.</p>';
  const faults = scenario.faults ?? [];
  const t0 = Math.min(points[0]?.atMs ?? 0, ...faults.map((f) => f.startMs));
  const t1 = Math.max(points.at(-1)?.atMs ?? 0, ...faults.map((f) => f.endMs), t0 + 1);
  const maxLatency = Math.max(1, ...points.map((p) => p.latencyMs));
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t: number) => MARGIN.left + ((t - t0) / (t1 - t0)) * innerW;
  const y = (v: number) => MARGIN.top + innerH - (v / maxLatency) * innerH;
  // Labels of neighbouring windows would overlap on one line: three lines, in turn.
  const shaded = faults
    .map(
      (f, i) =>
        `<rect x="${x(f.startMs).toFixed(1)}" y="${MARGIN.top}" width="${Math.max(2, x(f.endMs) - x(f.startMs)).toFixed(1)}" height="${innerH}" fill="#f4c7c3" opacity="0.7"><title>${escapeHtml(f.label)}</title></rect>` +
        `<text x="${(x(f.startMs) + 2).toFixed(1)}" y="${MARGIN.top + 12 + (i % 3) * 12}" font-size="10" fill="#a33">${escapeHtml(f.label)}</text>`,
    )
    .join('');
  const dots = points
    .map(
      (p) =>
        `<circle cx="${x(p.atMs).toFixed(1)}" cy="${y(p.latencyMs).toFixed(1)}" r="1.6" fill="#1f5fa8"/>`,
    )
    .join('');
  const yTicks = axisTicks(maxLatency)
    .map(
      (v) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>` +
        `<text x="${MARGIN.left - 6}" y="${(y(v) + 3).toFixed(1)}" font-size="10" text-anchor="end">${v}</text>`,
    )
    .join('');
  const seconds = (t1 - t0) / 1000;
  const xTicks = axisTicks(seconds)
    .map(
      (s) =>
        `<text x="${x(t0 + s * 1000).toFixed(1)}" y="${HEIGHT - 12}" font-size="10" text-anchor="middle">${s}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="latency over time">
<rect width="100%" height="100%" fill="#fff"/>${yTicks}${shaded}${dots}${xTicks}
<text x="12" y="${MARGIN.top + innerH / 2}" font-size="10" transform="rotate(-90 12 ${MARGIN.top + innerH / 2})" text-anchor="middle">latency ms</text>
<text x="${MARGIN.left + innerW / 2}" y="${HEIGHT - 1}" font-size="10" text-anchor="middle">seconds since the first send</text>
</svg>`;
}

/** Bars of throughput per replica count (scenario 6). */
function throughputPlot(byReplicas: Record<string, number>): string {
  const entries = Object.entries(byReplicas);
  if (entries.length === 0) return '';
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const band = innerW / entries.length;
  const bars = entries
    .map(([replicas, value], i) => {
      const h = (value / max) * innerH;
      const bx = MARGIN.left + i * band + band * 0.2;
      return (
        `<rect x="${bx.toFixed(1)}" y="${(MARGIN.top + innerH - h).toFixed(1)}" width="${(band * 0.6).toFixed(1)}" height="${h.toFixed(1)}" fill="#3a8a5c"/>` +
        `<text x="${(bx + band * 0.3).toFixed(1)}" y="${(MARGIN.top + innerH - h - 4).toFixed(1)}" font-size="11" text-anchor="middle">${value} /s</text>` +
        `<text x="${(bx + band * 0.3).toFixed(1)}" y="${HEIGHT - 12}" font-size="11" text-anchor="middle">${replicas} replica${replicas === '1' ? '' : 's'}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="throughput per replica count">
<rect width="100%" height="100%" fill="#fff"/>${bars}</svg>`;
}

function list(items: readonly string[]): string {
  if (items.length === 0) return '<span class="ok">none</span>';
  const shown = items
    .slice(0, 20)
    .map((i) => `<li>${escapeHtml(i)}</li>`)
    .join('');
  return `<ul class="bad">${shown}${items.length > 20 ? `<li>… ${items.length - 20} more</li>` : ''}</ul>`;
}

/** autocannon through nginx in front of the replicas (scenario 3). */
function statusApiLoadRow(s: ScenarioReport): string {
  const load = s.statusApiLoad;
  if (!load) return '';
  const l = load.latencyMs;
  const answered = `${load.answeredBy.length} of ${load.upstreams.length} replicas answered a probe`;
  return `<tr><th>status API through nginx</th><td>${escapeHtml(load.url)} · ${load.connections} connections · ${load.durationS} s<br>
${load.requestsPerSec} requests/s (${load.requests} in all) · latency ms p50 ${l.p50} · p90 ${l.p90} · p99 ${l.p99} · max ${l.max}<br>
<span class="${load.non2xx === 0 ? 'ok' : 'bad'}">non-2xx ${load.non2xx}</span> · errors ${load.errors} · timeouts ${load.timeouts} · ${escapeHtml(answered)}</td></tr>`;
}

function scenarioSection(s: ScenarioReport): string {
  const completions = Object.values(s.completionsPerBatch);
  const extra =
    s.throughputByReplicas !== undefined
      ? `<h3>Throughput per replica count</h3>${throughputPlot(s.throughputByReplicas)}
<p>scale3 = ${s.scale3 ?? 'n/a'}, scale5 = ${s.scale5 ?? 'n/a'}</p>
<p>RSS by batch size (MiB): ${escapeHtml(
          Object.entries(s.rssByBatchSize ?? {})
            .map(([size, bytes]) => `${size}: ${(bytes / 1048576).toFixed(1)}`)
            .join(', '),
        )}</p>`
      : '';
  return `<section id="s${s.id}">
<h2>${s.id}. ${escapeHtml(s.name)} — <span class="${s.passed ? 'ok' : 'bad'}">${s.passed ? 'passed' : 'FAILED'}</span></h2>
<table>
<tr><th>replica PIDs</th><td>${s.pids.join(', ')}</td></tr>
<tr><th>sent / assigned / excess / dead letters</th><td>${s.sent} / ${s.assigned} / ${s.excess} / ${s.deadLetters}</td></tr>
<tr><th>completion events per batch</th><td>${completions.length} batches; counts ${escapeHtml(JSON.stringify([...new Set(completions)].sort()))}</td></tr>
<tr><th>throughput</th><td>${s.throughputPerSec} texts/s</td></tr>
<tr><th>latency produce → slot assigned (ms)</th><td>p50 ${s.latencyMs.p50} · p95 ${s.latencyMs.p95} · p99 ${s.latencyMs.p99} · max ${s.latencyMs.max}</td></tr>
${statusApiLoadRow(s)}
${s.completionLatencyMs ? `<tr><th>latency last input → completion (ms)</th><td>p50 ${s.completionLatencyMs.p50} · p95 ${s.completionLatencyMs.p95} · p99 ${s.completionLatencyMs.p99} · max ${s.completionLatencyMs.max}</td></tr>` : ''}
<tr><th>lost</th><td>${list(s.lost)}</td></tr>
<tr><th>duplicated</th><td>${list(s.duplicated)}</td></tr>
<tr><th>unexpected</th><td>${list(s.unexpected)}</td></tr>
${Object.entries(s.checks ?? {})
  .map(([name, entries]) => `<tr><th>${escapeHtml(name)}</th><td>${list(entries)}</td></tr>`)
  .join('\n')}
<tr><th>notes</th><td>${list(s.notes).replace('class="bad"', '').replace('<span class="ok">none</span>', '—')}</td></tr>
</table>
<h3>Latency over time${(s.faults ?? []).length > 0 ? ' (fault windows shaded)' : ''}</h3>
${latencyPlot(s)}
${extra}
</section>`;
}

export function renderReportHtml(report: RunReport): string {
  const rows = report.scenarios
    .map(
      (s) =>
        `<tr><td><a href="#s${s.id}">${s.id}. ${escapeHtml(s.name)}</a></td><td class="${s.passed ? 'ok' : 'bad'}">${s.passed ? 'passed' : 'FAILED'}</td><td>${new Set(s.pids).size}</td><td>${s.sent}</td><td>${s.assigned}</td><td>${s.lost.length}/${s.duplicated.length}/${s.unexpected.length}</td><td>${s.throughputPerSec}</td><td>${s.latencyMs.p99}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ELS distributed run ${escapeHtml(report.startedAt)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 960px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
.ok { color: #2a7a3f; } .bad { color: #b3261e; font-weight: bold; } .muted { color: #888; }
svg { border: 1px solid #eee; display: block; margin: 8px 0; }
</style></head><body>
<h1>ELS distributed run</h1>
<p>Started ${escapeHtml(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s · ${report.instances} replicas · profile ${escapeHtml(report.profile)}</p>
<table><tr><th>scenario</th><th>result</th><th>PIDs</th><th>sent</th><th>assigned</th><th>lost/dup/unexp</th><th>texts/s</th><th>p99 ms</th></tr>${rows}</table>
${report.scenarios.map(scenarioSection).join('\n')}
</body></html>
`;
}
