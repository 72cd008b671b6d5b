import { runStopSequence, stopSteps, type StopStep, type WorkerPart } from './stop-sequence';

const never = () => new Promise<void>(() => undefined);
const quick = () => Promise.resolve();

describe('stop sequence', () => {
  it('abandons a step that hangs at the end of its share and still runs the steps after it', async () => {
    const ran: string[] = [];
    const steps: StopStep[] = [
      { name: 'consumer', weight: 1, run: never },
      {
        name: 'http',
        weight: 1,
        run: async () => {
          ran.push('http');
        },
      },
    ];
    const started = Date.now();
    const report = await runStopSequence(steps, { budgetMs: 400 });
    expect(Date.now() - started).toBeLessThan(600);
    expect(report.clean).toBe(false);
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['consumer', 'timed-out'],
      ['http', 'stopped'],
    ]);
    expect(ran).toEqual(['http']);
  });

  it('gives each step its weight over what is left, so the time a fast step saves goes to the later ones', async () => {
    const shares: number[] = [];
    const steps: StopStep[] = ['a', 'b', 'c'].map((name) => ({
      name,
      weight: 1,
      run: (timeoutMs) => {
        shares.push(timeoutMs);
        return name === 'c' ? never() : quick();
      },
    }));
    const report = await runStopSequence(steps, { budgetMs: 300 });
    expect(shares[0]).toBeGreaterThanOrEqual(95);
    expect(shares[0]).toBeLessThanOrEqual(100);
    // a and b returned at once: c gets nearly the whole budget instead of a third of it.
    expect(shares[2]).toBeGreaterThan(250);
    expect(report.steps.map((s) => s.status)).toEqual(['stopped', 'stopped', 'timed-out']);
  });

  it('reports a step that throws as failed and is clean only when every step stopped', async () => {
    const failing = await runStopSequence(
      [
        { name: 'relay flush', weight: 1, run: () => Promise.reject(new Error('database unreachable')) },
        { name: 'producer', weight: 1, run: quick },
      ],
      { budgetMs: 200 },
    );
    expect(failing.clean).toBe(false);
    expect(failing.steps[0]).toMatchObject({ name: 'relay flush', status: 'failed' });
    const clean = await runStopSequence([{ name: 'producer', weight: 1, run: quick }], { budgetMs: 200 });
    expect(clean.clean).toBe(true);
  });
});

describe('stop steps of the worker parts', () => {
  const part = (name: string, stopAfter?: string): WorkerPart => ({
    name,
    start: quick,
    stop: [{ name, weight: 1, run: quick }],
    ...(stopAfter ? { stopAfter } : {}),
  });
  const names = (parts: WorkerPart[]) => stopSteps(parts).map((step) => step.name);

  it('stops the parts in reverse start order, every stop step of a part in its own order', () => {
    const two: WorkerPart = {
      name: 'b',
      start: quick,
      stop: [
        { name: 'b flush', weight: 2, run: quick },
        { name: 'b', weight: 1, run: quick },
      ],
    };
    expect(names([part('a'), two, part('c')])).toEqual(['c', 'b flush', 'b', 'a']);
  });

  it('stops an exception right after the part it names', () => {
    expect(names([part('a'), part('b'), part('c'), part('d', 'b')])).toEqual(['c', 'b', 'd', 'a']);
    expect(names([part('a'), part('b', 'd'), part('c'), part('d')])).toEqual(['d', 'b', 'c', 'a']);
  });

  it('refuses an exception that names no part', () => {
    expect(() => stopSteps([part('a'), part('b', 'z')])).toThrow(/"b" stops after "z"/);
  });
});
