import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatTraceLine, readRunLog, traceId, writeMergedLog } from './merged-log';

function line(time: string, instanceId: string, fields: Record<string, unknown>) {
  return JSON.stringify({ level: 30, time, instanceId, ...fields });
}

describe('merged replica logs', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'els-merged-log-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function run(name: string, files: Record<string, string[]>) {
    const runDir = path.join(dir, 'logs', name);
    fs.mkdirSync(runDir, { recursive: true });
    for (const [file, lines] of Object.entries(files))
      fs.writeFileSync(path.join(runDir, file), lines.join('\n'));
    return runDir;
  }

  it('merges every replica log by time, with fault windows, skipping lines that are not JSON', () => {
    const runDir = run('s7', {
      'r1.log': [
        line('2026-01-01T00:00:00.300Z', 'r1', { msg: 'Slot assigned' }),
        'not json',
        line('2026-01-01T00:00:00.100Z', 'r1', { msg: 'Worker started' }),
      ],
      'r2.log': [line('2026-01-01T00:00:00.200Z', 'r2', { msg: 'Consumer started' })],
    });
    const entries = readRunLog(runDir, [
      {
        label: 'SIGKILL r1',
        startMs: Date.parse('2026-01-01T00:00:00.250Z'),
        endMs: Date.parse('2026-01-01T00:00:00.400Z'),
      },
    ]);
    expect(entries.map((e) => `${e.source}:${String(e.fields['msg'])}`)).toEqual([
      'r1:Worker started',
      'r2:Consumer started',
      'nemesis:Fault started',
      'r1:Slot assigned',
      'nemesis:Fault ended',
    ]);
    const merged = writeMergedLog(runDir);
    expect(fs.readFileSync(merged, 'utf8').trim().split('\n')).toHaveLength(3);
    // the merged log itself is never read back in as a replica's
    expect(readRunLog(runDir)).toHaveLength(3);
  });

  it('traces one batch or correlation id across replicas and runs, in time order', () => {
    for (const [name, offset] of [
      ['s3', 0],
      ['s7', 500],
    ] as const) {
      const at = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + offset + ms).toISOString();
      writeMergedLog(
        run(name, {
          'r1.log': [
            line(at(10), 'r1', { batchId: 'b-1', correlationId: 'c-1', msg: 'Batch registered' }),
            line(at(30), 'r1', { batchId: 'b-2', msg: 'Batch registered' }),
          ],
          'r2.log': [line(at(20), 'r2', { texts: ['t-9', 'b-1'], msg: 'Content run handled' })],
        }),
      );
    }
    const traced = traceId(dir, 'b-1');
    expect(traced.map((t) => `${t.run}/${t.entry.source}`)).toEqual(['s3/r1', 's3/r2', 's7/r1', 's7/r2']);
    expect(traceId(dir, 'c-1')).toHaveLength(2);
    expect(traceId(dir, 'b-')).toHaveLength(0);
    expect(formatTraceLine(traced[0] as NonNullable<(typeof traced)[0]>)).toMatch(
      /^2026-01-01T00:00:00\.010Z s3 r1 INFO +Batch registered \{"batchId":"b-1","correlationId":"c-1"\}$/,
    );
  });
});
