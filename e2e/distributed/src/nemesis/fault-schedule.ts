import { createSeededRandom, type SeededRandom } from '@els/workload';

/**
 * The fault schedule: which faults a run injects, on which replica or dependency, when and for how long,
 * drawn from the run's seed so that one seed always gives the same schedule. Pure: the nemesis runs it.
 */

export type FaultKind =
  /** SIGKILL of a replica, restarted after the hold. */
  | 'replica-kill'
  /** SIGSTOP of a replica for a few seconds (shorter than the consumer session timeout). */
  | 'replica-pause'
  /** SIGSTOP longer than the session timeout: the zombie wakes after its partitions moved. */
  | 'replica-long-pause'
  /** SIGKILL of a replica just as its outbox relay publishes (between the broker's ack and the mark). */
  | 'relay-kill'
  /**
   * SIGSTOP of a replica caught inside a database transaction that holds row locks, for longer than the
   * worker's lock, idle-in-transaction and statement timeouts (and shorter than the session timeout).
   */
  | 'replica-lock-pause'
  /** SIGTERM of every replica in turn under load, each started again before the next. */
  | 'rolling-restart'
  /** One replica more joins the group under load. */
  | 'scale-up'
  /** One replica leaves the group under load (SIGTERM) and does not come back. */
  | 'scale-down'
  /** SIGKILL of the postmaster and every backend, then crash recovery. */
  | 'postgres-crash'
  /** A clean PostgreSQL shutdown (`-m fast`) and start. */
  | 'postgres-restart'
  /**
   * The run's database read-only for the hold, as after a failover onto a standby or on a full disk: the
   * replicas' sessions are ended and reconnect into read-only ones (SQLSTATE 25006 on every write).
   */
  | 'postgres-read-only'
  /** SIGKILL of the broker, then the same broker started again. */
  | 'kafka-crash'
  /** A controlled broker shutdown and start. */
  | 'kafka-restart'
  /**
   * The broker refuses every produce request to the run's outbox topics for the hold while fetches go on
   * (their `max.message.bytes` below the smallest record batch): the relays' publishes fail while the
   * replicas keep consuming and writing outbox rows.
   */
  | 'kafka-produce-refusal'
  /** Redis stopped for the hold, then started (it keeps nothing on disk). */
  | 'redis-restart'
  /** Added latency between one replica and a dependency. */
  | 'net-latency'
  /** A partition between one replica and a dependency: nothing gets through for the hold. */
  | 'net-blackhole'
  /** Every connection between one replica and a dependency reset, new ones too, for the hold. */
  | 'net-reset'
  /**
   * New connections from one replica to a dependency refused or unreachable for the hold (a packet filter
   * rule), its open ones reset at the start so that it has to reconnect into the rule.
   */
  | 'net-refuse';

export const FAULT_KINDS: readonly FaultKind[] = [
  'replica-kill',
  'replica-pause',
  'replica-long-pause',
  'relay-kill',
  'replica-lock-pause',
  'rolling-restart',
  'scale-up',
  'scale-down',
  'postgres-crash',
  'postgres-restart',
  'postgres-read-only',
  'kafka-crash',
  'kafka-restart',
  'kafka-produce-refusal',
  'redis-restart',
  'net-latency',
  'net-blackhole',
  'net-reset',
  'net-refuse',
];

/** A dependency a replica reaches through its own fault proxy. */
export type ProxiedDependency = 'postgres' | 'redis' | 'kafka';
export const PROXIED_DEPENDENCIES: readonly ProxiedDependency[] = ['postgres', 'redis', 'kafka'];

/**
 * How a `net-refuse` fault turns a connection attempt down, as the connecting client sees it:
 * `icmp-host-unreachable` EHOSTUNREACH, `icmp-net-unreachable` ENETUNREACH, `tcp-reset` ECONNREFUSED
 * (measured on loopback; `iptables … -j REJECT --reject-with <this>`).
 */
export type ConnectionRefusal = 'icmp-host-unreachable' | 'icmp-net-unreachable' | 'tcp-reset';
export const CONNECTION_REFUSALS: readonly ConnectionRefusal[] = [
  'icmp-host-unreachable',
  'icmp-net-unreachable',
  'tcp-reset',
];

/**
 * The dependencies a `net-refuse` fault is drawn for, PostgreSQL three times in five: the worker decides
 * from the database's errors whether a message is refused for good (dead-lettered) or waits for an outage,
 * so an unreachable database is where a wrong decision loses data. Redis and Kafka are drawn too, since
 * their clients must ride out the same errnos.
 */
const REFUSED_DEPENDENCIES: readonly ProxiedDependency[] = [
  'postgres',
  'postgres',
  'postgres',
  'redis',
  'kafka',
];

/**
 * The shared service each service fault acts on. Faults on one service run one at a time, never
 * overlapping each other (a read-only database changes the whole database under every replica, as a
 * crash or restart does; a produce refusal alters the broker's topics, which a broker that is down cannot
 * take). Faults on different services may overlap, as a correlated outage does.
 */
export const SERVICE_OF_KIND: Partial<Record<FaultKind, 'postgres' | 'kafka' | 'redis'>> = {
  'postgres-crash': 'postgres',
  'postgres-restart': 'postgres',
  'postgres-read-only': 'postgres',
  'kafka-crash': 'kafka',
  'kafka-restart': 'kafka',
  'kafka-produce-refusal': 'kafka',
  'redis-restart': 'redis',
};
const SERVICE_KINDS: ReadonlySet<FaultKind> = new Set(Object.keys(SERVICE_OF_KIND) as FaultKind[]);

/**
 * The services a fault keeps to itself: its own, and for a produce refusal PostgreSQL's too, since the
 * refusal shows something only while the replicas write outbox rows (a database down or read-only at the
 * same time leaves no publish to fail).
 */
export function servicesHeldBy(kind: FaultKind): string[] {
  const service = SERVICE_OF_KIND[kind];
  if (!service) return [];
  return kind === 'kafka-produce-refusal' ? [service, 'postgres'] : [service];
}
/** Faults that change the membership of the whole group: one at a time, and not during a service fault. */
export const GROUP_KINDS: ReadonlySet<FaultKind> = new Set(['rolling-restart', 'scale-up', 'scale-down']);
/** Faults that act through a replica's fault proxies: none where the replicas reach the services directly. */
export const NETWORK_KINDS: ReadonlySet<FaultKind> = new Set([
  'net-latency',
  'net-blackhole',
  'net-reset',
  'net-refuse',
]);
const REPLICA_KINDS: ReadonlySet<FaultKind> = new Set([
  'replica-kill',
  'replica-pause',
  'replica-long-pause',
  'relay-kill',
  'replica-lock-pause',
  ...NETWORK_KINDS,
]);

/**
 * The fault families every run covers: a fault on a replica (its process or the group's membership), on
 * PostgreSQL, Kafka and Redis, and a network fault between one replica and each dependency (the family
 * fixes the dependency, the kind is drawn).
 */
export type FaultFamily =
  'replica' | 'postgres' | 'kafka' | 'redis' | 'network-postgres' | 'network-redis' | 'network-kafka';
export const FAULT_FAMILIES: readonly FaultFamily[] = [
  'replica',
  'postgres',
  'kafka',
  'redis',
  'network-postgres',
  'network-redis',
  'network-kafka',
];
const NETWORK_FAMILY: Record<ProxiedDependency, FaultFamily> = {
  postgres: 'network-postgres',
  redis: 'network-redis',
  kafka: 'network-kafka',
};
const DEPENDENCY_OF_FAMILY: Partial<Record<FaultFamily, ProxiedDependency>> = {
  'network-postgres': 'postgres',
  'network-redis': 'redis',
  'network-kafka': 'kafka',
};

/** The family of a fault (a network fault's is that of its dependency). */
export function familyOf(kind: FaultKind, dependency?: ProxiedDependency): FaultFamily {
  if (NETWORK_KINDS.has(kind)) return NETWORK_FAMILY[dependency ?? 'postgres'];
  return SERVICE_OF_KIND[kind] ?? 'replica';
}

/** The kinds of `pool` that can make a fault of `family`. */
function kindsOfFamily(pool: readonly FaultKind[], family: FaultFamily): FaultKind[] {
  if (DEPENDENCY_OF_FAMILY[family]) return pool.filter((kind) => NETWORK_KINDS.has(kind));
  return pool.filter((kind) => !NETWORK_KINDS.has(kind) && familyOf(kind) === family);
}

/** The families a run drawing from `kinds` must cover: those that still have a kind. */
export function familiesOf(kinds: readonly FaultKind[]): FaultFamily[] {
  return FAULT_FAMILIES.filter((family) => kindsOfFamily(kinds, family).length > 0);
}

export interface ScheduledFault {
  kind: FaultKind;
  /** Milliseconds after the load starts. */
  atMs: number;
  /** How long the fault is held (pause, partition, time down); 0 for instantaneous ones. */
  holdMs: number;
  /** How long it is expected to occupy its target, hold included (what the planner keeps apart). */
  spanMs: number;
  /** The family this fault covers. */
  family: FaultFamily;
  /** Replica index (0-based) for replica and network faults. */
  replica?: number;
  dependency?: ProxiedDependency;
  /** Added latency of a `net-latency` fault. */
  latencyMs?: number;
  /** How a `net-refuse` fault turns new connections down. */
  refusal?: ConnectionRefusal;
  label: string;
}

export interface ScheduleOptions {
  seed: number;
  /** How long the generator produces; faults start within it. */
  loadMs: number;
  /** Replicas at the start of the run. */
  replicas: number;
  /**
   * Kinds to draw from (default: all). Each family that has a kind here is drawn once first (the kind
   * inside it at random); then each kind once before any is drawn twice.
   */
  kinds?: readonly FaultKind[];
  /** Faults in the run (default: one per 8 s of load, at least 3, and at least one per family). */
  count?: number;
  /** The consumer session timeout, which a long pause must exceed. */
  sessionTimeoutMs?: number;
  /**
   * How much longer than a process the deployment takes for each fault action (default 1; the Compose
   * driver's container starts and health-checked service restarts take about twice as long).
   */
  spanFactor?: number;
}

export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

/**
 * How long a kind occupies its target, beyond its hold: what its actions take on this machine (a broker
 * restart takes seconds, a rolling restart one graceful stop and ready start per replica).
 */
function expectedSpanMs(kind: FaultKind, holdMs: number, replicas: number): number {
  switch (kind) {
    case 'kafka-crash':
    case 'kafka-restart':
      return holdMs + 12_000;
    case 'postgres-crash':
    case 'postgres-restart':
      return holdMs + 5_000;
    // Two ALTER DATABASE and two rounds of terminated sessions, then the replicas' reconnects.
    case 'postgres-read-only':
      return holdMs + 3_000;
    case 'rolling-restart':
      return replicas * 12_000;
    case 'scale-up':
    case 'scale-down':
      return 10_000;
    case 'replica-kill':
      return holdMs + 8_000;
    // Up to LOCK_PAUSE_WAIT_MS looking for the replica inside a transaction, then the hold.
    case 'replica-lock-pause':
      return holdMs + 3_000;
    // Two topic config changes, each waited for until the broker reports it.
    case 'kafka-produce-refusal':
      return holdMs + 2_000;
    default:
      return holdMs + 1_000;
  }
}

function holdFor(kind: FaultKind, random: SeededRandom, sessionTimeoutMs: number): number {
  const between = (min: number, max: number) => min + random.int(max - min + 1);
  switch (kind) {
    case 'replica-kill':
      return between(500, 3_000);
    case 'replica-pause':
      return between(2_000, 8_000);
    case 'replica-long-pause':
      return sessionTimeoutMs + between(3_000, 10_000);
    // Past the peers' progress bound (statement 10 s + idle-in-transaction 5 s + 2 s of retry and relay
    // poll = 17 s), so that a worker missing its timeouts leaves its row locks held long enough for a
    // peer's stalled partition to cross it; 5 s below the session timeout (30 s), so the replica keeps its
    // partitions (a heartbeat up to 3 s before the stop, the settle after it).
    case 'replica-lock-pause':
      return between(20_000, Math.max(20_000, sessionTimeoutMs - 5_000));
    // Several of the relays' passes (backoff at most ELS_RELAY_MAX_BACKOFF_MS = 2 s) fail while the
    // consumers go on writing rows.
    case 'kafka-produce-refusal':
      return between(4_000, 12_000);
    case 'redis-restart':
      return between(2_000, 6_000);
    case 'net-latency':
      return between(4_000, 10_000);
    // Past the worker's lock (3 s) and often its statement (10 s) timeout.
    case 'net-blackhole':
      return between(3_000, 14_000);
    case 'net-reset':
      return between(300, 2_000);
    // Long enough for content to arrive and for a worker that takes the outage for a refusal to use up its
    // bounded attempts (ELS_RETRY_UNEXPECTED_MAX = 5 with backoff capped at 1 s: under 2 s) and dead-letter
    // it: what the dead-letter check then names.
    case 'postgres-read-only':
      return between(4_000, 12_000);
    // A client backs off between connection attempts (postgres.js: 3^n / 100 s, up to 20 s), so a short
    // refusal shows the worker only its first few errors; measured through a fault proxy, one message's
    // fifth failed attempt came 2.4-6.8 s into the refusal, later with the worker's other loops sharing
    // the pool. Up to 24 s lets the errors reach the worker's decision, as in a real failover.
    case 'net-refuse':
      return between(4_000, 24_000);
    default:
      return 0;
  }
}

const REFUSAL_PHRASES: Record<ConnectionRefusal, string> = {
  'icmp-host-unreachable': 'host unreachable',
  'icmp-net-unreachable': 'network unreachable',
  'tcp-reset': 'connections refused',
};

function describe(fault: Omit<ScheduledFault, 'label'>): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const replica = fault.replica === undefined ? '' : ` r${fault.replica + 1}`;
  switch (fault.kind) {
    case 'replica-kill':
      return `SIGKILL${replica}, down ${seconds(fault.holdMs)}`;
    case 'replica-pause':
    case 'replica-long-pause':
      return `SIGSTOP${replica} ${seconds(fault.holdMs)}`;
    case 'relay-kill':
      return `SIGKILL${replica} during relay publish`;
    case 'replica-lock-pause':
      return `SIGSTOP${replica} holding row locks ${seconds(fault.holdMs)}`;
    case 'kafka-produce-refusal':
      return `Kafka refuses produce ${seconds(fault.holdMs)}`;
    case 'net-latency':
      return `${fault.dependency} +${fault.latencyMs} ms${replica}, ${seconds(fault.holdMs)}`;
    case 'net-blackhole':
      return `${fault.dependency} partition${replica}, ${seconds(fault.holdMs)}`;
    case 'net-reset':
      return `${fault.dependency} resets${replica}, ${seconds(fault.holdMs)}`;
    case 'net-refuse':
      return `${fault.dependency} ${REFUSAL_PHRASES[fault.refusal ?? 'tcp-reset']}${replica}, ${seconds(fault.holdMs)}`;
    case 'redis-restart':
      return `Redis down ${seconds(fault.holdMs)}`;
    case 'postgres-read-only':
      return `PostgreSQL read-only ${seconds(fault.holdMs)}`;
    default:
      return fault.kind;
  }
}

function drawDependency(kind: FaultKind, random: SeededRandom): ProxiedDependency | undefined {
  const from = kind === 'net-refuse' ? REFUSED_DEPENDENCIES : PROXIED_DEPENDENCIES;
  return from[random.int(from.length)];
}

interface Occupied {
  startMs: number;
  endMs: number;
}

const overlaps = (a: Occupied, b: Occupied) => a.startMs < b.endMs && b.startMs < a.endMs;

/** One attempt at a whole schedule: the families first, then more faults up to the count. */
function drawSchedule(
  options: ScheduleOptions,
  pool: readonly FaultKind[],
  random: SeededRandom,
  /** Whether the replica family's fault may be a group change (rolling restart, scaling). */
  groupForReplicaFamily: boolean,
): ScheduledFault[] {
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const families = familiesOf(pool);
  const count = Math.max(families.length, options.count ?? Math.max(3, Math.round(options.loadMs / 8_000)));
  const earliest = Math.round(options.loadMs * 0.1);
  const latest = Math.max(earliest + 1, Math.round(options.loadMs * 0.7));
  const schedule: ScheduledFault[] = [];
  const windowOf = (fault: ScheduledFault): Occupied => ({
    startMs: fault.atMs,
    endMs: fault.atMs + fault.spanMs,
  });

  /** Whether `kind` on `replica` (toward `dependency`) may occupy `window` beside what is placed. */
  const fits = (
    kind: FaultKind,
    window: Occupied,
    replica: number | undefined,
    dependency: ProxiedDependency | undefined,
  ): boolean =>
    schedule.every((other) => {
      if (!overlaps(windowOf(other), window)) return true;
      // one replica carries one replica or network fault at a time
      if (replica !== undefined && other.replica === replica) return false;
      // group changes overlap no service fault and no other group change
      if (GROUP_KINDS.has(kind) && (GROUP_KINDS.has(other.kind) || SERVICE_KINDS.has(other.kind))) {
        return false;
      }
      if (SERVICE_KINDS.has(kind) && GROUP_KINDS.has(other.kind)) return false;
      // faults on one service run one at a time
      if (servicesHeldBy(kind).some((service) => servicesHeldBy(other.kind).includes(service))) return false;
      return true;
    }) &&
    // One-sided reachability: at least one replica keeps a dependency while others lose it, so network
    // faults toward one dependency cover at most all replicas but one at any moment.
    // (With one replica there is no other to keep it.)
    (dependency === undefined ||
      options.replicas < 2 ||
      schedule.filter(
        (other) =>
          NETWORK_KINDS.has(other.kind) &&
          other.dependency === dependency &&
          overlaps(windowOf(other), window),
      ).length +
        1 <
        options.replicas);

  /**
   * Places one fault of `kind` (toward `fixedDependency` for a network family) at a random start and
   * replica that fit the constraints; after 32 random tries, the earliest start that fits on any replica.
   * Returns false when none fits.
   */
  const place = (kind: FaultKind, fixedDependency?: ProxiedDependency, from = earliest): boolean => {
    const holdMs = holdFor(kind, random, sessionTimeoutMs);
    const spanMs = Math.round(expectedSpanMs(kind, holdMs, options.replicas) * (options.spanFactor ?? 1));
    const onReplica = REPLICA_KINDS.has(kind);
    const dependency = NETWORK_KINDS.has(kind)
      ? (fixedDependency ?? drawDependency(kind, random))
      : undefined;
    let placed: { window: Occupied; replica: number | undefined } | undefined;
    for (let attempt = 0; attempt < 32 && !placed; attempt += 1) {
      const startMs = from + random.int(latest - from);
      const replica = onReplica ? random.int(options.replicas) : undefined;
      const window = { startMs, endMs: startMs + spanMs };
      if (fits(kind, window, replica, dependency)) placed = { window, replica };
    }
    const firstReplica = random.int(options.replicas);
    for (let startMs = from; startMs < latest && !placed; startMs += 250) {
      const window = { startMs, endMs: startMs + spanMs };
      for (let step = 0; step < (onReplica ? options.replicas : 1) && !placed; step += 1) {
        const replica = onReplica ? (firstReplica + step) % options.replicas : undefined;
        if (fits(kind, window, replica, dependency)) placed = { window, replica };
      }
    }
    if (!placed) return false;
    const fault: Omit<ScheduledFault, 'label'> = {
      kind,
      family: familyOf(kind, dependency),
      atMs: placed.window.startMs,
      holdMs,
      spanMs,
      ...(placed.replica === undefined ? {} : { replica: placed.replica }),
      ...(dependency === undefined ? {} : { dependency }),
      ...(kind === 'net-latency' ? { latencyMs: 50 + random.int(351) } : {}),
      ...(kind === 'net-refuse'
        ? { refusal: CONNECTION_REFUSALS[random.int(CONNECTION_REFUSALS.length)] }
        : {}),
    };
    schedule.push({ ...fault, label: describe(fault) });
    return true;
  };

  // Every family once, in a random order, the kind inside it at random: a kind that fits nowhere gives
  // its turn to another of its family. A group change drawn for the replica family overlaps no service
  // fault, so it is placed first, in the last third of the window, leaving room for them before it; any
  // other replica fault goes last.
  const drawn: FaultKind[] = [];
  const replicaCandidates = families.includes('replica')
    ? random.shuffle(
        kindsOfFamily(pool, 'replica').filter((kind) => groupForReplicaFamily || !GROUP_KINDS.has(kind)),
      )
    : [];
  const [firstReplicaKind] = replicaCandidates;
  if (firstReplicaKind && GROUP_KINDS.has(firstReplicaKind)) {
    const lateStart = latest - Math.floor((latest - earliest) / 3);
    if (place(firstReplicaKind, undefined, lateStart)) drawn.push(firstReplicaKind);
  }
  for (const family of random.shuffle(families.filter((f) => f !== 'replica'))) {
    const candidates = random.shuffle(kindsOfFamily(pool, family));
    const kind = candidates.find((candidate) => place(candidate, DEPENDENCY_OF_FAMILY[family]));
    if (kind) drawn.push(kind);
  }
  if (replicaCandidates.length > 0 && !drawn.some((kind) => familyOf(kind) === 'replica')) {
    const kind = replicaCandidates.find((candidate) => place(candidate));
    if (kind) drawn.push(kind);
  }

  // Then rounds over the shuffled kinds, the first without those the families drew: each kind once
  // before any twice. A kind that fits nowhere this round gives its turn to the next.
  let round: FaultKind[] = random.shuffle(pool.filter((kind) => !drawn.includes(kind)));
  let misses = 0;
  while (schedule.length < count && misses < pool.length * 2) {
    if (round.length === 0) round = random.shuffle([...pool]);
    const kind = round.shift() as FaultKind;
    if (place(kind)) misses = 0;
    else misses += 1;
  }
  return schedule.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Draws the schedule. Every family that has a kind in the pool gets one fault first (the kind inside the
 * family drawn from the seed), then more faults up to the count, each kind once before any twice. Faults
 * start between 10 % and 70 % of the load. Faults on one shared service never overlap one another, and
 * group changes (rolling restart, scaling) overlap no service fault and no other group change; one
 * replica carries at most one replica or network fault at a time, and at any moment at least one replica
 * reaches each dependency (network faults toward it cover all replicas but one at most). Otherwise faults
 * overlap freely: a partition during a broker crash, a Redis outage during a PostgreSQL crash, or a kill
 * during a rolling restart is a schedule this function may draw. When the families cannot all fit with
 * the replica family drawing a group change (a 36 s rolling restart in a 30 s load), it draws again with
 * the replica family's kind taken from the replica's own faults.
 */
export function planFaultSchedule(options: ScheduleOptions): ScheduledFault[] {
  const pool = [...new Set(options.kinds ?? FAULT_KINDS)];
  if (pool.length === 0) return [];
  const random = createSeededRandom(options.seed).fork('nemesis/schedule');
  const covered = (schedule: readonly ScheduledFault[]) => new Set(schedule.map((f) => f.family)).size;
  const first = drawSchedule(options, pool, random, true);
  if (covered(first) === familiesOf(pool).length) return first;
  const second = drawSchedule(options, pool, random.fork('without-group-change'), false);
  return covered(second) > covered(first) ? second : first;
}

/** Parses `E2E_FAULTS`: a comma-separated list of fault kinds (empty or `all`: every kind). */
export function parseFaultKinds(value: string | undefined): FaultKind[] {
  const text = (value ?? '').trim();
  if (text === '' || text === 'all') return [...FAULT_KINDS];
  const kinds = text.split(',').map((item) => item.trim());
  const unknown = kinds.filter((kind) => !FAULT_KINDS.includes(kind as FaultKind));
  if (unknown.length > 0) {
    throw new Error(`E2E_FAULTS: unknown fault kind ${unknown.join(', ')}; use ${FAULT_KINDS.join(', ')}`);
  }
  return kinds as FaultKind[];
}
