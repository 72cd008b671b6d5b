import type { MemorySample, ProcessReading } from '@els/harness';
import {
  DEFAULT_LIMITS,
  judgeThresholds,
  measureRun,
  parseThresholds,
  rssSlopes,
  thresholdProblems,
  type ScenarioMeasurements,
} from './thresholds';

/** A Prometheus histogram exposition with the given cumulative bucket counts. */
function histogram(name: string, buckets: Record<string, number>, sum: number): string {
  const lines = Object.entries(buckets).map(([le, count]) => `${name}_bucket{le="${le}"} ${count}`);
  const count = buckets['+Inf'] ?? 0;
  return [...lines, `${name}_sum ${sum}`, `${name}_count ${count}`].join('\n');
}

function reading(process: string, exposition: string, memory: MemorySample[] = []): ProcessReading {
  return {
    instanceId: process.split('@')[0] ?? process,
    process,
    scrapedAtMs: 0,
    complete: true,
    counters: { slotAssignments: 0, excess: 0, completions: 0, deadLetters: {}, consumed: 0 },
    exposition,
    memory,
  };
}

/** Readings every 1,000 events from 0 to `events`, RSS = base + perEvent × consumed (+ a saw-tooth). */
function memory(events: number, perEventBytes: number, base = 80e6): MemorySample[] {
  const samples: MemorySample[] = [];
  for (let consumed = 0; consumed <= events; consumed += 1000) {
    const sawTooth = (consumed / 1000) % 2 === 0 ? 0 : 3e6;
    samples.push({
      atMs: consumed,
      rssBytes: base + perEventBytes * consumed + sawTooth,
      heapUsedBytes: 0,
      consumed,
    });
  }
  return samples;
}

const redisExposition = (slowShare: number) =>
  histogram(
    'els_redis_prefilter_duration_seconds',
    { '0.001': 100 - slowShare, '0.1': 100 - slowShare, '0.25': 100, '+Inf': 100 },
    0.5,
  );
const databaseExposition = (averageS: number, count = 50) =>
  histogram('els_content_transaction_duration_seconds', { '0.5': count, '+Inf': count }, averageS * count);

const check = {
  completionSeries: [
    { atMs: 500, latencyMs: 4000 }, // inside the warm-up: not judged
    { atMs: 3000, latencyMs: 120 },
    { atMs: 4000, latencyMs: 300 },
  ],
  textsSent: 100,
  textsFailed: 0,
  latencySeries: [],
};

describe('parseThresholds', () => {
  it('gives the defaults when E2E_THRESHOLDS is empty', () => {
    expect(parseThresholds(undefined)).toEqual(DEFAULT_LIMITS);
    expect(parseThresholds('  ')).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({
      redisP95Ms: 100,
      databaseAvgMs: 200,
      coordinationP99Ms: 1000,
      successRatePct: 95,
      scale3: 1.5,
      scale5: 2,
    });
  });

  it('reads name=value pairs, `off` per threshold, and `off` for all', () => {
    expect(parseThresholds('databaseAvgMs=50, redisP95Ms=off')).toMatchObject({
      databaseAvgMs: 50,
      redisP95Ms: 'off',
      coordinationP99Ms: 1000,
    });
    expect(Object.values(parseThresholds('off')).every((limit) => limit === 'off')).toBe(true);
  });

  it('reads a JSON file', () => {
    const files: Record<string, string> = { 'limits.json': '{ "coordinationP99Ms": 250, "scale5": "off" }' };
    const read = (file: string) => files[file] ?? '';
    expect(parseThresholds('limits.json', read)).toMatchObject({ coordinationP99Ms: 250, scale5: 'off' });
    expect(() => parseThresholds('broken.json', () => '{')).toThrow(/E2E_THRESHOLDS file broken.json/);
    expect(() => parseThresholds('list.json', () => '[1]')).toThrow(/expected an object/);
  });

  it('names an unknown threshold or a bad value', () => {
    expect(() => parseThresholds('redisP99Ms=5')).toThrow(/unknown threshold "redisP99Ms"; use redisP95Ms/);
    expect(() => parseThresholds('redisP95Ms=fast')).toThrow(/redisP95Ms must be a non-negative number/);
    expect(() => parseThresholds('redisP95Ms')).toThrow(/not name=value/);
  });
});

describe('measureRun', () => {
  it('merges the replicas histograms, skips the warm-up and counts texts in one defined state', () => {
    const readings = [
      reading('r1@1', `${redisExposition(2)}\n${databaseExposition(0.02)}`),
      reading('r2@2', `${redisExposition(2)}\n${databaseExposition(0.04)}`),
    ];
    const measured = measureRun({ ...check, textsFailed: 3 }, readings, 0);
    expect(measured.redisP95Ms).toEqual({ samples: 200, value: 0.97 });
    expect(measured.databaseAvgMs?.samples).toBe(100);
    expect(measured.databaseAvgMs?.value).toBeCloseTo(30, 5);
    expect(measured.coordinationP99Ms).toEqual({ samples: 2, value: 300 });
    expect(measured.successRatePct).toEqual({ samples: 100, value: 97 });
  });

  it('measures a slow Redis, a slow database and a slow completion as such', () => {
    const readings = [reading('r1@1', `${redisExposition(10)}\n${databaseExposition(0.45)}`)];
    const measured = measureRun(
      { ...check, completionSeries: [{ atMs: 5000, latencyMs: 2500 }] },
      readings,
      0,
    );
    expect(measured.redisP95Ms?.value).toBeGreaterThan(100);
    expect(measured.databaseAvgMs?.value).toBeCloseTo(450, 5);
    expect(measured.coordinationP99Ms?.value).toBe(2500);
  });
});

describe('rssSlopes', () => {
  it('finds a leak of 2 KB per event and none in a flat process, after warm-up', () => {
    const flat = reading('r1@1', '', memory(20_000, 0));
    const leaky = reading('r2@2', '', memory(20_000, 2048));
    const slopes = rssSlopes([flat, leaky]);
    expect(slopes).toHaveLength(2);
    expect(Math.abs(slopes[0]?.mbPer10k ?? 99)).toBeLessThan(2);
    expect(slopes[1]?.mbPer10k).toBeGreaterThan(18);
  });

  it('leaves out processes with too few readings after warm-up', () => {
    expect(rssSlopes([reading('r1@1', '', memory(4000, 2048))])).toEqual([]);
  });
});

describe('judgeThresholds', () => {
  const healthy: ScenarioMeasurements = {
    redisP95Ms: { value: 1.2, samples: 300 },
    databaseAvgMs: { value: 35, samples: 80 },
    coordinationP99Ms: { value: 420, samples: 6 },
    successRatePct: { value: 100, samples: 60 },
  };

  it('passes a healthy scenario and judges only what the scenario measures', () => {
    const results = judgeThresholds(2, healthy, DEFAULT_LIMITS);
    expect(results.map((result) => [result.name, result.verdict])).toEqual([
      ['redisP95Ms', 'pass'],
      ['databaseAvgMs', 'pass'],
      ['coordinationP99Ms', 'pass'],
      ['successRatePct', 'pass'],
    ]);
    expect(thresholdProblems(results)).toEqual([]);
  });

  it('fails each crossed threshold with its value and limit', () => {
    const slow: ScenarioMeasurements = {
      ...healthy,
      databaseAvgMs: { value: 452.4, samples: 80 },
      successRatePct: { value: 90, samples: 60 },
    };
    const problems = thresholdProblems(judgeThresholds(2, slow, DEFAULT_LIMITS));
    expect(problems).toEqual([
      expect.stringMatching(/^databaseAvgMs: 452\.4 ms > 200 ms/),
      expect.stringMatching(/^successRatePct: 90 % < 95 %/),
    ]);
  });

  it('reports without judging: turned off, nothing measured, or a reason of the scenario', () => {
    const limits = { ...DEFAULT_LIMITS, redisP95Ms: 'off' as const };
    const paced = judgeThresholds(5, { ...healthy, databaseAvgMs: { samples: 0 } }, limits);
    // Scenario 5 has a Redis outage: its coordination is not judged.
    expect(paced.map((result) => result.name)).not.toContain('coordinationP99Ms');
    const scaling = judgeThresholds(
      6,
      {
        ...healthy,
        scale3: { value: 0.9, samples: 2, notJudged: 'shared cores' },
        scale5: { value: 0.8, samples: 2 },
        rssGrowthByBatchSizePct: { value: 40, samples: 2 },
      },
      limits,
    );
    const byName = Object.fromEntries([...paced, ...scaling].map((result) => [result.name, result]));
    expect(byName['redisP95Ms']).toMatchObject({
      verdict: 'not judged',
      reason: 'turned off (E2E_THRESHOLDS)',
    });
    expect(byName['databaseAvgMs']).toMatchObject({ verdict: 'not judged', reason: 'nothing measured' });
    expect(byName['scale3']).toMatchObject({ verdict: 'not judged', measured: 0.9, reason: 'shared cores' });
    expect(byName['scale5']).toMatchObject({ verdict: 'fail', measured: 0.8 });
    expect(byName['rssGrowthByBatchSizePct']).toMatchObject({ verdict: 'fail' });
    // Scenario 6 runs flat out: its latencies are a queue, not judged against the targets.
    expect(scaling.map((result) => result.name)).not.toContain('databaseAvgMs');
  });

  it('judges a sustained run only when a process consumed enough events for a slope', () => {
    const short = measureRun(check, [reading('r1@1', '', memory(8000, 0))], 0);
    expect(short.rssSlopeMbPer10kEvents).toMatchObject({
      samples: 0,
      notJudged: expect.stringMatching(/most consumed 8000/),
    });
    const alone = measureRun(check, [reading('r1@1', '', memory(20_000, 4096))], 0);
    expect(alone.rssSlopeMbPer10kEvents).toMatchObject({
      samples: 1,
      notJudged: expect.stringMatching(/2 needed/),
    });
    const leaky = measureRun(
      check,
      [reading('r1@1', '', memory(20_000, 4096)), reading('r2@2', '', memory(20_000, 3072))],
      0,
    );
    const [result] = judgeThresholds(7, leaky, DEFAULT_LIMITS).filter(
      (r) => r.name === 'rssSlopeMbPer10kEvents',
    );
    expect(result).toMatchObject({ verdict: 'fail' });
  });
});
