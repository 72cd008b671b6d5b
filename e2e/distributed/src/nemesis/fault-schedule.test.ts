import {
  CONNECTION_REFUSALS,
  FAULT_FAMILIES,
  FAULT_KINDS,
  familiesOf,
  parseFaultKinds,
  planFaultSchedule,
  type FaultKind,
  type ScheduledFault,
} from './fault-schedule';

const SERVICE: Record<string, string> = {
  'postgres-crash': 'postgres',
  'postgres-restart': 'postgres',
  'postgres-read-only': 'postgres',
  'kafka-crash': 'kafka',
  'kafka-restart': 'kafka',
  'kafka-produce-refusal': 'kafka',
  'redis-restart': 'redis',
};
const GROUP = new Set(['rolling-restart', 'scale-up', 'scale-down']);
const NETWORK = new Set(['net-latency', 'net-blackhole', 'net-reset', 'net-refuse']);
/** Scenario 7's CI profile: every kind but the pause beyond the session timeout. */
const CI_KINDS = FAULT_KINDS.filter((kind) => kind !== 'replica-long-pause');
const familiesIn = (schedule: readonly ScheduledFault[]) =>
  [...new Set(schedule.map((f) => f.family))].sort();

const overlap = (a: ScheduledFault, b: ScheduledFault) =>
  a.atMs < b.atMs + b.spanMs && b.atMs < a.atMs + a.spanMs;

describe('fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    for (const options of [
      { loadMs: 90_000, replicas: 3 },
      { loadMs: 30_000, replicas: 3, kinds: CI_KINDS },
    ]) {
      for (let seed = 0; seed < 200; seed += 1) {
        expect(planFaultSchedule({ ...options, seed })).toEqual(planFaultSchedule({ ...options, seed }));
      }
      expect(planFaultSchedule({ ...options, seed: 43 })).not.toEqual(
        planFaultSchedule({ ...options, seed: 42 }),
      );
    }
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

  it('draws every family once, then every kind once before any twice, and over a few seeds every kind', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 600_000,
        replicas: 3,
        count: FAULT_FAMILIES.length + FAULT_KINDS.length,
      });
      for (const fault of schedule) seen.add(fault.kind);
      expect(familiesIn(schedule)).toEqual([...FAULT_FAMILIES].sort());
      // room for every kind after the families: each had its turn
      expect(new Set(schedule.map((f) => f.kind)).size).toBe(FAULT_KINDS.length);
    }
    expect([...seen].sort()).toEqual([...FAULT_KINDS].sort());
    // without network kinds, the families draw distinct kinds: no kind twice before each had its turn
    const pool = FAULT_KINDS.filter((kind) => !NETWORK.has(kind));
    for (let seed = 0; seed < 20; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 600_000,
        replicas: 3,
        kinds: pool,
        count: pool.length,
      });
      expect(new Set(schedule.map((f) => f.kind)).size).toBe(schedule.length);
    }
  });

  it("covers every family on every seed in scenario 7's CI profile (30 s of load) and full profile", () => {
    for (const [loadMs, kinds] of [
      [30_000, CI_KINDS],
      [90_000, FAULT_KINDS],
    ] as const) {
      const drawn = new Map<string, Set<FaultKind>>();
      for (let seed = 0; seed < 200; seed += 1) {
        const schedule = planFaultSchedule({ seed, loadMs, replicas: 3, kinds });
        expect(familiesIn(schedule)).toEqual([...FAULT_FAMILIES].sort());
        for (const fault of schedule) {
          drawn.set(fault.family, (drawn.get(fault.family) ?? new Set()).add(fault.kind));
          expect(fault.atMs).toBeGreaterThanOrEqual(loadMs * 0.1);
          expect(fault.atMs).toBeLessThan(loadMs * 0.7);
          if (NETWORK.has(fault.kind)) expect(fault.family).toBe(`network-${fault.dependency}`);
        }
      }
      // the kind inside each family is drawn: over the seeds, each family shows every kind it has
      for (const family of FAULT_FAMILIES) {
        const expected = kinds.filter((kind) =>
          family.startsWith('network-')
            ? NETWORK.has(kind)
            : family === 'replica'
              ? !NETWORK.has(kind) && SERVICE[kind] === undefined
              : SERVICE[kind] === family,
        );
        expect([...(drawn.get(family) ?? [])].sort()).toEqual([...expected].sort());
      }
    }
  });

  it('with E2E_FAULTS, requires only the families that still have a kind; the Compose driver has no network ones', () => {
    expect(familiesOf(['replica-kill', 'kafka-produce-refusal'])).toEqual(['replica', 'kafka']);
    expect(familiesOf(['net-refuse'])).toEqual(['network-postgres', 'network-redis', 'network-kafka']);
    const compose = CI_KINDS.filter((kind) => !NETWORK.has(kind));
    expect(familiesOf(compose)).toEqual(['replica', 'postgres', 'kafka', 'redis']);
    for (let seed = 0; seed < 100; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 30_000,
        replicas: 3,
        kinds: ['kafka-produce-refusal'],
      });
      expect(schedule.length).toBeGreaterThanOrEqual(1);
      expect(schedule.every((fault) => fault.kind === 'kafka-produce-refusal')).toBe(true);
      expect(familiesIn(planFaultSchedule({ seed, loadMs: 30_000, replicas: 3, kinds: compose }))).toEqual([
        'kafka',
        'postgres',
        'redis',
        'replica',
      ]);
    }
  });

  it('never overlaps faults on one service, nor a group change with a service fault or another group change', () => {
    for (let seed = 0; seed < 200; seed += 1) {
      for (const [loadMs, count] of [
        [30_000, undefined],
        [60_000, 12],
      ] as const) {
        const schedule = planFaultSchedule({ seed, loadMs, replicas: 3, count, kinds: CI_KINDS });
        for (const [i, a] of schedule.entries()) {
          for (const b of schedule.slice(i + 1)) {
            if (!overlap(a, b)) continue;
            const held = (kind: string) =>
              kind === 'kafka-produce-refusal' ? ['kafka', 'postgres'] : SERVICE[kind] ? [SERVICE[kind]] : [];
            const sameService = held(a.kind).some((service) => held(b.kind).includes(service));
            const groupMeetsShared =
              (GROUP.has(a.kind) && (GROUP.has(b.kind) || SERVICE[b.kind] !== undefined)) ||
              (GROUP.has(b.kind) && SERVICE[a.kind] !== undefined);
            expect({ a: a.label, b: b.label, sameService, groupMeetsShared }).toEqual({
              a: a.label,
              b: b.label,
              sameService: false,
              groupMeetsShared: false,
            });
            // one replica carries one replica fault at a time
            if (a.replica !== undefined) expect(b.replica).not.toBe(a.replica);
          }
        }
      }
    }
  });

  it('keeps every dependency reachable by at least one replica while another loses it', () => {
    let oneSided = 0;
    for (let seed = 0; seed < 200; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 60_000,
        replicas: 3,
        count: 14,
        kinds: ['net-blackhole', 'net-refuse', 'replica-kill'],
      });
      const network = schedule.filter((fault) => NETWORK.has(fault.kind));
      for (const fault of network) {
        // at its start, the replicas cut off from its dependency: never all three
        const cut = network.filter(
          (other) =>
            other.dependency === fault.dependency &&
            other.atMs <= fault.atMs &&
            fault.atMs < other.atMs + other.spanMs,
        );
        expect(new Set(cut.map((other) => other.replica)).size).toBeLessThan(3);
        oneSided += 1;
      }
    }
    expect(oneSided).toBeGreaterThan(200);
  });

  it('pauses a replica holding row locks past the peers’ bound and within the session timeout', () => {
    for (let seed = 0; seed < 100; seed += 1) {
      const schedule = planFaultSchedule({
        seed,
        loadMs: 30_000,
        replicas: 3,
        kinds: ['replica-lock-pause'],
      });
      expect(schedule.length).toBeGreaterThan(0);
      for (const fault of schedule) {
        expect(fault.family).toBe('replica');
        expect([0, 1, 2]).toContain(fault.replica);
        // the peers' bound (statement 10 s + idle in transaction 5 s + 2 s) < hold ≤ session timeout 30 s - 5 s
        expect(fault.holdMs).toBeGreaterThanOrEqual(20_000);
        expect(fault.holdMs).toBeLessThanOrEqual(25_000);
        expect(fault.label).toMatch(/^SIGSTOP r[123] holding row locks \d+\.\d s$/);
      }
    }
  });

  it('refuses produce requests on the broker for 4-12 s, a Kafka fault on no replica', () => {
    for (let seed = 0; seed < 100; seed += 1) {
      for (const fault of planFaultSchedule({
        seed,
        loadMs: 30_000,
        replicas: 3,
        kinds: ['kafka-produce-refusal', 'kafka-crash'],
      })) {
        expect(fault.family).toBe('kafka');
        expect(fault.replica).toBeUndefined();
        if (fault.kind !== 'kafka-produce-refusal') continue;
        expect(fault.holdMs).toBeGreaterThanOrEqual(4_000);
        expect(fault.holdMs).toBeLessThanOrEqual(12_000);
        expect(fault.label).toMatch(/^Kafka refuses produce \d+\.\d s$/);
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
      const schedule = planFaultSchedule({
        seed,
        loadMs: 60_000,
        replicas: 3,
        kinds: ['net-refuse'],
        count: 8,
      });
      // one toward each dependency for the network families; the weighting shows in the faults beyond
      for (const dependency of ['postgres', 'redis', 'kafka'] as const) {
        expect(schedule.some((fault) => fault.dependency === dependency)).toBe(true);
        dependencies[dependency] -= 1;
      }
      for (const fault of schedule) {
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
