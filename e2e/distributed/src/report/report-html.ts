import type { ThresholdResult } from '../checker/thresholds';
import type { MutantsReport } from './mutants-report';
import { mutantsTableHtml } from './mutants-report';
import type { FaultWindow } from '../history/fault-window';
import { escapeHtml } from '@els/harness';
import type { RunReport, ScenarioReport } from './run-report';

/** report.html: a summary table and inline SVG plots (no scripts, no external resources). */

const WIDTH = 720;
const REPLICA_COLOURS = [
  '#1f5fa8',
  '#d9730d',
  '#2a7a3f',
  '#8e44ad',
  '#b3261e',
  '#0f8b8d',
  '#6d6d00',
  '#c2185b',
];
const HEIGHT = 220;
const MARGIN = { left: 56, right: 16, top: 16, bottom: 32 };

function axisTicks(max: number): number[] {
  if (max <= 0) return [0];
  const step = 10 ** Math.floor(Math.log10(max));
  const unit = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001; v += unit) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

/** Horizontal grid lines with their values along the y axis. */
function yAxis(max: number, y: (v: number) => number): string {
  return axisTicks(max)
    .map(
      (v) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>` +
        `<text x="${MARGIN.left - 6}" y="${(y(v) + 3).toFixed(1)}" font-size="10" text-anchor="end">${v}</text>`,
    )
    .join('');
}

/** Seconds along the x axis, from `t0`. */
function secondsAxis(t0: number, t1: number, x: (t: number) => number): string {
  return axisTicks((t1 - t0) / 1000)
    .map(
      (s) =>
        `<text x="${x(t0 + s * 1000).toFixed(1)}" y="${HEIGHT - 12}" font-size="10" text-anchor="middle">${s}</text>`,
    )
    .join('');
}

/** Fault windows as shaded bands with their labels (three label lines, in turn, so neighbours don't collide). */
function faultBands(faults: readonly FaultWindow[], x: (t: number) => number): string {
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  return faults
    .map(
      (f, i) =>
        `<rect x="${x(f.startMs).toFixed(1)}" y="${MARGIN.top}" width="${Math.max(2, x(f.endMs) - x(f.startMs)).toFixed(1)}" height="${innerH}" fill="#f4c7c3" opacity="0.7"><title>${escapeHtml(f.label)}</title></rect>` +
        `<text x="${(x(f.startMs) + 2).toFixed(1)}" y="${MARGIN.top + 12 + (i % 3) * 12}" font-size="10" fill="#a33">${escapeHtml(f.label)}</text>`,
    )
    .join('');
}

/** A legend in the plot's top right corner: one colour swatch and name per line or replica. */
function legendHtml(entries: ReadonlyArray<{ name: string; colour: string }>): string {
  return entries
    .map(
      (entry, i) =>
        `<g class="replica-lane"><rect x="${WIDTH - MARGIN.right - 150}" y="${MARGIN.top + i * 12}" width="8" height="8" fill="${entry.colour}"/>` +
        `<text x="${WIDTH - MARGIN.right - 138}" y="${MARGIN.top + 8 + i * 12}" font-size="10">${escapeHtml(entry.name)}</text></g>`,
    )
    .join('');
}

interface Line {
  name: string;
  colour: string;
  width: number;
  points: Array<[number, number]>;
}

/** Lines over time (ms since epoch on x), fault windows shaded, a legend naming each line. */
function linesPlot(options: {
  ariaLabel: string;
  yLabel: string;
  lines: readonly Line[];
  faults: readonly FaultWindow[];
}): string {
  const all = options.lines.flatMap((line) => line.points);
  const t0 = Math.min(...all.map(([t]) => t), ...options.faults.map((f) => f.startMs));
  const t1 = Math.max(...all.map(([t]) => t), ...options.faults.map((f) => f.endMs), t0 + 1000);
  const max = Math.max(1, ...all.map(([, v]) => v));
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t: number) => MARGIN.left + ((t - t0) / (t1 - t0)) * innerW;
  const y = (v: number) => MARGIN.top + innerH - (v / max) * innerH;
  const paths = options.lines
    .map((line) => {
      const d = line.points
        .map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${line.colour}" stroke-width="${line.width}"/>`;
    })
    .join('');
  const legend = legendHtml(options.lines);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(options.ariaLabel)}">
<rect width="100%" height="100%" fill="#fff"/>${yAxis(max, y)}${faultBands(options.faults, x)}${paths}${legend}${secondsAxis(t0, t1, x)}
<text x="12" y="${MARGIN.top + innerH / 2}" font-size="10" transform="rotate(-90 12 ${MARGIN.top + innerH / 2})" text-anchor="middle">${escapeHtml(options.yLabel)}</text>
<text x="${MARGIN.left + innerW / 2}" y="${HEIGHT - 1}" font-size="10" text-anchor="middle">seconds</text>
</svg>`;
}

/** Per-second counts of `times`, scaled by `scale`, as points at each second's middle. */
function perSecond(
  times: readonly number[],
  t0: number,
  seconds: number,
  scale: number,
): Array<[number, number]> {
  const bins = new Array<number>(seconds + 1).fill(0);
  for (const at of times) {
    const bin = Math.floor((at - t0) / 1000);
    bins[bin] = (bins[bin] ?? 0) + 1;
  }
  return bins.map((n, i) => [t0 + i * 1000 + 500, Math.round(n * scale)]);
}

/**
 * Slots assigned per second (each text's send time plus its latency): the total and one line per replica,
 * fault windows shaded.
 */
function throughputOverTimePlot(scenario: ScenarioReport): string {
  const points = scenario.latencySeries ?? [];
  if (points.length === 0) return '<p class="muted">No assignments recorded.</p>';
  const assignedAt = points.map((p) => p.atMs + p.latencyMs);
  const t0 = Math.min(...assignedAt);
  const seconds = Math.ceil((Math.max(...assignedAt) - t0) / 1000);
  // The report keeps a thinned series; scale the bins back to the real number of assignments.
  const scale =
    scenario.assigned > 0 && points.length < scenario.assigned ? scenario.assigned / points.length : 1;
  const replicas = [...new Set(points.map((p) => p.replica ?? 'unknown'))].sort();
  const lines: Line[] = [
    { name: 'all replicas', colour: '#222', width: 1.8, points: perSecond(assignedAt, t0, seconds, scale) },
    ...replicas.map((replica, i) => ({
      name: replica,
      colour: REPLICA_COLOURS[i % REPLICA_COLOURS.length] ?? '#1f5fa8',
      width: 1,
      points: perSecond(
        points.filter((p) => (p.replica ?? 'unknown') === replica).map((p) => p.atMs + p.latencyMs),
        t0,
        seconds,
        scale,
      ),
    })),
  ];
  return linesPlot({
    ariaLabel: 'throughput over time',
    yLabel: 'assigned / s',
    lines,
    faults: scenario.faults ?? [],
  });
}

/** Resident set size of each replica during the load (scenario 7), fault windows shaded. */
function rssOverTimePlot(scenario: ScenarioReport): string {
  const samples = scenario.rssSeries ?? [];
  if (samples.length === 0) return '';
  const replicas = [...new Set(samples.map((sample) => sample.replica))].sort();
  const lines: Line[] = replicas.map((replica, i) => ({
    name: replica,
    colour: REPLICA_COLOURS[i % REPLICA_COLOURS.length] ?? '#1f5fa8',
    width: 1.2,
    points: samples
      .filter((sample) => sample.replica === replica)
      .map((sample) => [sample.atMs, Math.round((sample.bytes / 1048576) * 10) / 10] as [number, number]),
  }));
  return `<h3>RSS over time</h3>\n${linesPlot({ ariaLabel: 'rss over time', yLabel: 'RSS MiB', lines, faults: scenario.faults ?? [] })}`;
}

/** The fault schedule drawn from the seed, beside the windows the faults really took. */
function scheduleTable(s: ScenarioReport): string {
  const schedule = s.schedule ?? [];
  if (schedule.length === 0) return '';
  const windows = s.faults ?? [];
  const t0 = Math.min(...windows.map((w) => w.startMs));
  const rows = schedule
    .map((fault) => {
      const window = windows.find((w) => w.label === fault.label);
      const real = window
        ? `+${((window.startMs - t0) / 1000).toFixed(1)} s for ${((window.endMs - window.startMs) / 1000).toFixed(1)} s`
        : '<span class="bad">not run</span>';
      return `<tr><td>+${(fault.atMs / 1000).toFixed(1)} s</td><td>${escapeHtml(fault.kind)}</td><td>${escapeHtml(fault.label)}</td><td>${real}</td></tr>`;
    })
    .join('');
  return `<h3>Fault schedule</h3>
<table class="schedule"><tr><th>planned start</th><th>kind</th><th>fault</th><th>ran (from the first fault)</th></tr>${rows}</table>`;
}

/** Per fault window, the peers' longest stall and their partitions' against its bound (checker/progress-check.ts). */
function progressTable(s: ScenarioReport): string {
  const windows = s.progress ?? [];
  if (windows.length === 0) return '';
  const t0 = Math.min(...windows.map((w) => w.startMs));
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows = windows
    .map((w) => {
      const over =
        w.judgedMs === undefined
          ? ''
          : ` (over ${seconds(w.judgedMs)}${(w.excluded ?? []).length > 0 ? `; time of ${escapeHtml((w.excluded ?? []).join(', '))} left out` : ''}${(w.restartedBy ?? []).length > 0 ? `; measured again from the start of ${escapeHtml((w.restartedBy ?? []).join(', '))}` : ''})`;
      const verdict = !w.judged
        ? `<span class="muted">not judged: ${escapeHtml(w.reason ?? '')}</span>`
        : w.passed
          ? `<span class="ok">within the bound</span>${over}`
          : `<span class="bad">STALLED past the bound</span>${over}`;
      return `<tr><td>${escapeHtml(w.label)}</td><td>${escapeHtml(w.kind)}</td><td>${escapeHtml(w.replica ?? '—')}</td><td>+${seconds(w.startMs - t0)} for ${seconds(w.endMs - w.startMs)}</td><td>${seconds(w.stallMs)}</td><td>${w.partitionStallMs === undefined ? '—' : `${seconds(w.partitionStallMs)} (${escapeHtml(w.stalledPartition ?? '')})`}</td><td>${seconds(w.boundMs)}</td><td>${verdict}</td></tr>`;
    })
    .join('');
  return `<h3>Progress per fault window</h3>
<table class="progress"><tr><th>fault</th><th>kind</th><th>replica</th><th>window (from the first fault)</th><th>stall of the others</th><th>longest stall of one of their partitions</th><th>bound</th><th>verdict</th></tr>${rows}</table>`;
}

const VERDICT_MARK: Record<ThresholdResult['verdict'], string> = {
  pass: '<span class="ok">✓</span>',
  fail: '<span class="bad">✗</span>',
  'not judged': '<span class="muted">not judged</span>',
};

/** The scenario's thresholds: ✓ / ✗ with the measured value against the limit. */
function thresholdsTable(s: ScenarioReport): string {
  const results = s.thresholds ?? [];
  if (results.length === 0) return '';
  const rows = results
    .map((result) => {
      const limit =
        result.limit === 'off'
          ? 'off'
          : `${result.bound === 'max' ? '≤' : '≥'} ${result.limit} ${result.unit}`;
      const measured = result.measured === undefined ? '—' : `${result.measured} ${result.unit}`;
      return `<tr><td>${VERDICT_MARK[result.verdict]}</td><td><code>${escapeHtml(result.name)}</code></td><td>${escapeHtml(measured)}</td><td>${escapeHtml(limit)}</td><td>${result.samples}</td><td>${escapeHtml(result.measure)}${result.reason ? `<br><span class="muted">${escapeHtml(result.reason)}</span>` : ''}</td></tr>`;
    })
    .join('');
  return `<h3>Thresholds</h3>
<table class="thresholds"><tr><th></th><th>threshold</th><th>measured</th><th>limit</th><th>samples</th><th>measure</th></tr>${rows}</table>`;
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
  const shaded = faultBands(faults, x);
  // One colour per replica (from each record's origin header), with a legend: a replica that stalls
  // during a fault shows as its own colour missing or climbing.
  const replicas = [...new Set(points.map((p) => p.replica ?? 'unknown'))].sort();
  const colour = (replica: string | undefined) =>
    REPLICA_COLOURS[replicas.indexOf(replica ?? 'unknown') % REPLICA_COLOURS.length] ?? '#1f5fa8';
  const dots = points
    .map(
      (p) =>
        `<circle cx="${x(p.atMs).toFixed(1)}" cy="${y(p.latencyMs).toFixed(1)}" r="1.6" fill="${colour(p.replica)}"/>`,
    )
    .join('');
  const legend = legendHtml(replicas.map((name) => ({ name, colour: colour(name) })));
  const yTicks = yAxis(maxLatency, y);
  const xTicks = secondsAxis(t0, t1, x);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="latency over time">
<rect width="100%" height="100%" fill="#fff"/>${yTicks}${shaded}${dots}${legend}${xTicks}
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
  const kindList = Object.entries(load.errorKinds ?? {}).map(([kind, count]) => `${kind} ×${count}`);
  const kinds = kindList.length > 0 ? ` (${kindList.join(', ')})` : '';
  const log = load.nginxErrorLog ? ` · <a href="${escapeHtml(load.nginxErrorLog)}">nginx error log</a>` : '';
  return `<tr><th>status API through nginx</th><td>${escapeHtml(load.url)} · ${load.connections} connections · ${load.durationS} s<br>
${load.requestsPerSec} requests/s (${load.requests} in all) · latency ms p50 ${l.p50} · p90 ${l.p90} · p99 ${l.p99} · max ${l.max}<br>
<span class="${load.non2xx === 0 ? 'ok' : 'bad'}">non-2xx ${load.non2xx}</span> · errors ${load.errors} · timeouts ${load.timeouts}${escapeHtml(kinds)} · ${escapeHtml(answered)}${log}</td></tr>`;
}

/** Batch ids named in a failed scenario's problems (entries look like `batch/text` or name the batch). */
function failingBatchIds(s: ScenarioReport): string[] {
  const ids = new Set<string>();
  const lists = [
    s.lost,
    s.duplicated,
    s.unexpected,
    ...Object.values(s.checks ?? {}),
    ...Object.values(s.problems ?? {}),
  ];
  for (const entry of lists.flat()) {
    const match = /\bs\d[\w.-]*-w\d+-b\d+/.exec(entry);
    if (match) ids.add(match[0]);
  }
  return [...ids].slice(0, 5);
}

/** Links to the merged replica logs and, when the scenario failed, the trace command for its batches. */
function logsRow(s: ScenarioReport): string {
  const logs = s.logs ?? [];
  if (logs.length === 0) return '';
  const links = logs.map((log) => `<a href="${escapeHtml(log)}">${escapeHtml(log)}</a>`).join('<br>');
  const traces = s.passed
    ? ''
    : failingBatchIds(s)
        .map((id) => `<br><code>npm run distributed -- trace ${escapeHtml(id)}</code>`)
        .join('');
  return `<tr><th>merged replica logs</th><td>${links}${traces}</td></tr>`;
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
<tr><th>replica PIDs</th><td>${s.pids.join(', ')}</td></tr>${(s.containers ?? []).length > 0 ? `<tr><th>replica containers</th><td>${escapeHtml((s.containers ?? []).join(', '))}</td></tr>` : ''}
<tr><th>sent / assigned / excess / dead letters</th><td>${s.sent} / ${s.assigned} / ${s.excess} / ${s.deadLetters}</td></tr>
<tr><th>completion events per batch</th><td>${completions.length} batches; counts ${escapeHtml(JSON.stringify([...new Set(completions)].sort()))}</td></tr>
<tr><th>throughput</th><td>${s.throughputPerSec} texts/s</td></tr>
<tr><th>latency produce → slot assigned (ms)</th><td>p50 ${s.latencyMs.p50} · p95 ${s.latencyMs.p95} · p99 ${s.latencyMs.p99} · max ${s.latencyMs.max}</td></tr>
${statusApiLoadRow(s)}
${s.completionLatencyMs ? `<tr><th>latency last input → completion (ms)</th><td>p50 ${s.completionLatencyMs.p50} · p95 ${s.completionLatencyMs.p95} · p99 ${s.completionLatencyMs.p99} · max ${s.completionLatencyMs.max}</td></tr>` : ''}
<tr><th>lost</th><td>${list(s.lost)}</td></tr>
<tr><th>duplicated</th><td>${list(s.duplicated)}</td></tr>
<tr><th>unexpected</th><td>${list(s.unexpected)}</td></tr>
<tr><th>recovered (not a violation)</th><td>${list(s.recovered ?? []).replace('class="bad"', '')}</td></tr>
${
  s.assignedByReplica
    ? `<tr><th>slots assigned by replica</th><td>${escapeHtml(
        Object.entries(s.assignedByReplica)
          .map(([replica, n]) => `${replica}: ${n}`)
          .join(', ') || '—',
      )}</td></tr>`
    : ''
}
${Object.entries(s.checks ?? {})
  .map(([name, entries]) => `<tr><th>${escapeHtml(name)}</th><td>${list(entries)}</td></tr>`)
  .join('\n')}
${logsRow(s)}
<tr><th>notes</th><td>${list(s.notes).replace('class="bad"', '').replace('<span class="ok">none</span>', '—')}</td></tr>
</table>
${thresholdsTable(s)}
${scheduleTable(s)}
${progressTable(s)}
<h3>Throughput over time${(s.faults ?? []).length > 0 ? ' (fault windows shaded)' : ''}</h3>
${throughputOverTimePlot(s)}
${rssOverTimePlot(s)}
<h3>Latency over time${(s.faults ?? []).length > 0 ? ' (fault windows shaded)' : ''}</h3>
${latencyPlot(s)}
${extra}
</section>`;
}

/** `✓ 4 ✗ 1` for the summary table. */
function thresholdSummary(s: ScenarioReport): string {
  const results = s.thresholds ?? [];
  const passed = results.filter((result) => result.verdict === 'pass').length;
  const failed = results.filter((result) => result.verdict === 'fail').length;
  if (results.length === 0) return '—';
  return `<span class="ok">✓ ${passed}</span>${failed > 0 ? ` <span class="bad">✗ ${failed}</span>` : ''}`;
}

export function renderReportHtml(report: RunReport, mutants?: MutantsReport): string {
  const rows = report.scenarios
    .map(
      (s) =>
        `<tr><td><a href="#s${s.id}">${s.id}. ${escapeHtml(s.name)}</a></td><td class="${s.passed ? 'ok' : 'bad'}">${s.passed ? 'passed' : 'FAILED'}</td><td>${new Set(s.pids).size}</td><td>${s.sent}</td><td>${s.assigned}</td><td>${s.lost.length}/${s.duplicated.length}/${s.unexpected.length}</td><td>${s.throughputPerSec}</td><td>${s.latencyMs.p99}</td><td>${thresholdSummary(s)}</td></tr>`,
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
<p>Started ${escapeHtml(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s · ${report.instances} replicas · profile ${escapeHtml(report.profile)}${report.driver ? ` · driver ${escapeHtml(report.driver)}` : ''}${report.seed === undefined ? '' : ` · seed <code>${report.seed}</code> (replay with <code>E2E_SEED=${report.seed}</code>)`}</p>
<table><tr><th>scenario</th><th>result</th><th>PIDs</th><th>sent</th><th>assigned</th><th>lost/dup/unexp</th><th>texts/s</th><th>p99 ms</th><th>thresholds</th></tr>${rows}</table>
${report.scenarios.map(scenarioSection).join('\n')}
${mutants ? `<section id="mutants"><h2>Mutation self-test</h2>\n${mutantsTableHtml(mutants)}</section>` : ''}
</body></html>
`;
}
