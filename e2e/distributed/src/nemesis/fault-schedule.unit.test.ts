import {
  CONNECTION_REFUSALS,
  FAULT_KINDS,
  parseFaultKinds,
  planFaultSchedule,
  type ScheduledFault,
} from './fault-schedule';

const SERVICE = new Set([
  'postgres-crash',
  'postgres-restart',
  'postgres-read-only',
  'kafka-crash',
  'kafka-restart',
  'redis-restart',
]);
const GROUP = new Set(['rolling-restart', 'scale-up', 'scale-down']);

const overlap = (a: ScheduledFault, b: ScheduledFault) =>
  a.atMs < b.atMs + b.spanMs && b.atMs < a.atMs + a.spanMs;

describe('fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const options = { loadMs: 90_000, replicas: 3 };
    expect(planFaultSchedule({ ...options, seed: 42 })).toEqual(planFaultSchedule({ ...options, seed: 42 }));
    expect(planFaultSchedule({ ...options, seed: 43 })).not.toEqual(
      planFaultSchedule({ ...options, seed: 42 }),
    );
  });

  it('starts every fault within the load, between 10 % and 70 % of it, in time order', () => {
    for (let seed = 0; seed < 50; seed += 1) {
      const schedule = planFaultSchedule({ seed, loadMs: 30_000, replicas: 3 });
      expect(schedule.length).toBeGreaterThanOrEqual(3);
      for (const fault of schedule) {
        expect(fault.atMs).toBeGreaterThanOrEqual(3_000);
        expect(fault.atMs).toBeLessThan(21_000);
      }
      expect(schedule.map((f) => f.atMs)).toEqual([...schedule.map((f) => f.atMs)].sort((a, b) => a - b));
    }
  });

  it('draws every kind once before any twice, and over a few seeds covers every kind', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed += 1) {
      const schedule = planFaultSchedule({ seed, loadMs: 600_000, replicas: 3, count: FAULT_KINDS.length });
      for (const fault of schedule) seen.add(fault.kind);
      // no kind twice while another has not had its turn
      expect(new Set(schedule.map((f) => f.kind)).size).toBe(schedule.length);
    }
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort());
  });

  it('never overlaps two service faults, nor a group change with a service fault', () => {
    for (let seed = 0; seed < 100; seed += 1) {
      const schedule = planFaultSchedule({ seed, loadMs: 60_000, replicas: 3, count: 10 });
      const shared = schedule.filter((f) => SERVICE.has(f.kind) || GROUP.has(f.kind));
      for (const [i, a] of shared.entries()) {
        for (const b of shared.slice(i + 1)) expect(overlap(a, b)).toBe(false);
      }
      // one replica carries one replica fault at a time
      const onReplicas = schedule.filter((f) => f.replica !== undefined);
      for (const [i, a] of onReplicas.entries()) {
        for (const b of onReplicas.slice(i + 1)) {
          if (a.replica === b.replica) expect(overlap(a, b)).toBe(false);
        }
      }
    }
  });

  it('targets replicas that exist, and network faults a proxied dependency with their parameters', () => {
    for (let seed = 0; seed < 50; seed += 1) {
      for (const fault of planFaultSchedule({ seed, loadMs: 60_000, replicas: 2, count: 12 })) {
        if (fault.replica !== undefined) expect([0, 1]).toContain(fault.replica);
        if (fault.kind.startsWith('net-')) expect(['postgres', 'redis', 'kafka']).toContain(fault.dependency);
        if (fault.kind === 'net-latency') expect(fault.latencyMs).toBeGreaterThanOrEqual(50);
        if (fault.kind === 'replica-long-pause') expect(fault.holdMs).toBeGreaterThan(30_000);
        expect(fault.label.length).toBeGreaterThan(0);
      }
    }
  });

  it('holds the database read-only long enough for content to arrive and use up bounded retries', () => {
    for (let seed = 0; seed < 50; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 30_000,
        replicas: 3,
        kinds: ['postgres-read-only', 'replica-kill'],
      });
      const readOnly = schedule.filter((fault) => fault.kind === 'postgres-read-only');
      expect(readOnly.length).toBeGreaterThan(0);
      for (const fault of readOnly) {
        // ELS_RETRY_UNEXPECTED_MAX = 5 attempts with backoff capped at 1 s take under 2 s.
        expect(fault.holdMs).toBeGreaterThanOrEqual(4_000);
        expect(fault.holdMs).toBeLessThanOrEqual(12_000);
        expect(fault.replica).toBeUndefined();
        expect(fault.spanMs).toBeGreaterThan(fault.holdMs);
        expect(fault.label).toMatch(/^PostgreSQL read-only \d+\.\d s$/);
      }
    }
  });

  it('never overlaps a read-only database with a PostgreSQL crash or restart, even when they are all it draws', () => {
    for (let seed = 0; seed < 100; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 60_000,
        replicas: 3,
        count: 6,
        kinds: ['postgres-read-only', 'postgres-crash', 'postgres-restart'],
      });
      expect(schedule.some((fault) => fault.kind === 'postgres-read-only')).toBe(true);
      for (const [i, a] of schedule.entries()) {
        for (const b of schedule.slice(i + 1)) expect(overlap(a, b)).toBe(false);
      }
    }
  });

  it('refuses connections of one replica to a dependency, PostgreSQL most often, each refusal drawn', () => {
    const dependencies = { postgres: 0, redis: 0, kafka: 0 };
    const refusals = new Set<string>();
    for (let seed = 0; seed < 300; seed += 1) {
      for (const fault of planFaultSchedule({ seed, loadMs: 30_000, replicas: 3, kinds: ['net-refuse'] })) {
        expect([0, 1, 2]).toContain(fault.replica);
        expect(fault.dependency).toBeDefined();
        dependencies[fault.dependency ?? 'postgres'] += 1;
        expect(CONNECTION_REFUSALS).toContain(fault.refusal);
        refusals.add(fault.refusal ?? '');
        expect(fault.holdMs).toBeGreaterThanOrEqual(4_000);
        expect(fault.holdMs).toBeLessThanOrEqual(24_000);
        expect(fault.label).toMatch(
          new RegExp(
            `^${fault.dependency} (host unreachable|network unreachable|connections refused) r${(fault.replica ?? 0) + 1}, `,
          ),
        );
      }
    }
    expect([...refusals].sort()).toEqual([...CONNECTION_REFUSALS].sort());
    expect(dependencies.redis).toBeGreaterThan(0);
    expect(dependencies.kafka).toBeGreaterThan(0);
    expect(dependencies.postgres).toBeGreaterThan(dependencies.redis + dependencies.kafka);
  });

  it('draws only the kinds it is given', () => {
    const schedule = planFaultSchedule({ seed: 5, loadMs: 60_000, replicas: 3, kinds: ['replica-kill'] });
    expect(new Set(schedule.map((f) => f.kind))).toEqual(new Set(['replica-kill']));
    expect(planFaultSchedule({ seed: 5, loadMs: 60_000, replicas: 3, kinds: [] })).toEqual([]);
  });

  it('parses E2E_FAULTS and names an unknown kind', () => {
    expect(parseFaultKinds('')).toEqual(FAULT_KINDS);
    expect(parseFaultKinds('all')).toEqual(FAULT_KINDS);
    expect(parseFaultKinds(' replica-kill , net-reset')).toEqual(['replica-kill', 'net-reset']);
    expect(parseFaultKinds('postgres-read-only,net-refuse')).toEqual(['postgres-read-only', 'net-refuse']);
    expect(() => parseFaultKinds('replica-kill,earthquake')).toThrow(/unknown fault kind earthquake/);
  });
});
