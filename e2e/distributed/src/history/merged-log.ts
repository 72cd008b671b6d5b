import fs from 'node:fs';
import path from 'node:path';

/**
 * Centralised logs of a run: every replica's JSON log (and the migrate run's) merged into one time-ordered
 * `merged.log` per workload run, with the nemesis's fault windows as entries of their own, and a trace that
 * follows one batch, correlation or event id across every replica of every run in a report directory.
 */

export interface LogEntry {
  /** ms since epoch. */
  timeMs: number;
  /** The replica (or `nemesis`) that wrote it. */
  source: string;
  /** The original JSON line, or a JSON object built for nemesis entries. */
  line: string;
  fields: Record<string, unknown>;
}

export interface FaultMark {
  label: string;
  startMs: number;
  endMs: number;
}

export const MERGED_LOG = 'merged.log';

function parseLine(line: string, fallbackSource: string): LogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const fields = JSON.parse(line) as Record<string, unknown>;
    const time = fields['time'] ?? fields['timestamp'];
    const timeMs = typeof time === 'number' ? time : Date.parse(String(time));
    if (!Number.isFinite(timeMs)) return undefined;
    const source = typeof fields['instanceId'] === 'string' ? fields['instanceId'] : fallbackSource;
    return { timeMs, source, line, fields };
  } catch {
    return undefined;
  }
}

/** Every JSON line of the `.log` files directly in `dir` (not `merged.log`), plus the fault marks, in time order. */
export function readRunLog(dir: string, faults: readonly FaultMark[] = []): LogEntry[] {
  const entries: LogEntry[] = [];
  const files = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith('.log') && f !== MERGED_LOG)
    : [];
  for (const file of files) {
    const source = path.basename(file, '.log');
    for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      const entry = parseLine(line.trim(), source);
      if (entry) entries.push(entry);
    }
  }
  for (const fault of faults) {
    for (const [timeMs, msg] of [
      [fault.startMs, 'Fault started'],
      [fault.endMs, 'Fault ended'],
    ] as const) {
      const fields = { time: new Date(timeMs).toISOString(), instanceId: 'nemesis', fault: fault.label, msg };
      entries.push({ timeMs, source: 'nemesis', line: JSON.stringify(fields), fields });
    }
  }
  // A stable sort keeps each replica's own order among entries of the same millisecond.
  return entries.sort((a, b) => a.timeMs - b.timeMs);
}

/** Writes `merged.log` (JSON Lines, time-ordered) into `dir`; returns its path. */
export function writeMergedLog(dir: string, faults: readonly FaultMark[] = []): string {
  const file = path.join(dir, MERGED_LOG);
  const entries = readRunLog(dir, faults);
  fs.writeFileSync(file, entries.map((entry) => entry.line).join('\n') + (entries.length > 0 ? '\n' : ''));
  return file;
}

/** Fields that name what a line is about: a trace matches any of them exactly. */
const ID_FIELDS = ['batchId', 'correlationId', 'eventId', 'textStorageId', 'essayId', 'fileUploadId'];

function mentions(entry: LogEntry, id: string): boolean {
  for (const field of ID_FIELDS) if (entry.fields[field] === id) return true;
  // Lists of ids (a content run names several texts) and nested objects: a plain substring of the line.
  return entry.line.includes(JSON.stringify(id));
}

/** Every merged log under `<reportDir>/logs/<run>/`, with the run's name. */
function mergedLogs(reportDir: string): Array<{ run: string; file: string }> {
  const logsDir = path.join(reportDir, 'logs');
  if (!fs.existsSync(logsDir)) return [];
  return fs
    .readdirSync(logsDir)
    .map((run) => ({ run, file: path.join(logsDir, run, MERGED_LOG) }))
    .filter(({ file }) => fs.existsSync(file));
}

export interface TraceLine {
  run: string;
  entry: LogEntry;
}

/** The lines of every run in the report directory that concern `id`, time-ordered. */
export function traceId(reportDir: string, id: string): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const { run, file } of mergedLogs(reportDir)) {
    for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
      const entry = parseLine(text, run);
      if (entry && mentions(entry, id)) lines.push({ run, entry });
    }
  }
  return lines.sort((a, b) => a.entry.timeMs - b.entry.timeMs);
}

const SHOWN_ASIDE = new Set(['time', 'timestamp', 'level', 'msg', 'instanceId', 'pid', 'hostname']);
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** One trace line for a terminal: time, run, source, level, message, the remaining fields. */
export function formatTraceLine({ run, entry }: TraceLine): string {
  const level = entry.fields['level'];
  const levelName = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : String(level ?? '');
  const rest = Object.fromEntries(Object.entries(entry.fields).filter(([key]) => !SHOWN_ASIDE.has(key)));
  return `${new Date(entry.timeMs).toISOString()} ${run} ${entry.source} ${levelName.padEnd(5)} ${String(entry.fields['msg'] ?? '')} ${JSON.stringify(rest)}`;
}
