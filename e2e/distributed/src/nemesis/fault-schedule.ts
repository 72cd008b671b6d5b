import { createSeededRandom, type SeededRandom } from '../generator';

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
  'rolling-restart',
  'scale-up',
  'scale-down',
  'postgres-crash',
  'postgres-restart',
  'postgres-read-only',
  'kafka-crash',
  'kafka-restart',
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

/** Faults on a shared service: one at a time, never overlapping each other. */
const SERVICE_KINDS: ReadonlySet<FaultKind> = new Set([
  'postgres-crash',
  'postgres-restart',
  'kafka-crash',
  'kafka-restart',
  'redis-restart',
  // The whole database changes under every replica, as a crash or restart does: one at a time with those.
  'postgres-read-only',
]);
/** Faults that change the membership of the whole group: one at a time, and not during a service fault. */
const GROUP_KINDS: ReadonlySet<FaultKind> = new Set(['rolling-restart', 'scale-up', 'scale-down']);
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
  ...NETWORK_KINDS,
]);

export interface ScheduledFault {
  kind: FaultKind;
  /** Milliseconds after the load starts. */
  atMs: number;
  /** How long the fault is held (pause, partition, time down); 0 for instantaneous ones. */
  holdMs: number;
  /** How long it is expected to occupy its target, hold included (what the planner keeps apart). */
  spanMs: number;
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
  /** Kinds to draw from (default: all). Each kind is drawn once before any is drawn twice. */
  kinds?: readonly FaultKind[];
  /** Faults in the run (default: one per 8 s of load, at least 3). */
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

/**
 * Draws the schedule. Faults start between 10 % and 70 % of the load; service faults and group changes
 * (rolling restart, scaling) never overlap one another, and one replica carries at most one replica or
 * network fault at a time. Otherwise faults overlap freely: a partition during a broker crash, or a kill
 * during a rolling restart, is a schedule this function may draw.
 */
export function planFaultSchedule(options: ScheduleOptions): ScheduledFault[] {
  const random = createSeededRandom(options.seed).fork('nemesis/schedule');
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
  const pool = [...(options.kinds ?? FAULT_KINDS)];
  if (pool.length === 0) return [];
  const count = options.count ?? Math.max(3, Math.round(options.loadMs / 8_000));
  const earliest = Math.round(options.loadMs * 0.1);
  const latest = Math.max(earliest + 1, Math.round(options.loadMs * 0.7));
  const exclusive: Occupied[] = [];
  const services: Occupied[] = [];
  const byReplica = new Map<number, Occupied[]>();
  const schedule: ScheduledFault[] = [];

  /** Places one fault of `kind` at a random start that fits the constraints, or returns false. */
  const place = (kind: FaultKind): boolean => {
    const holdMs = holdFor(kind, random, sessionTimeoutMs);
    const spanMs = Math.round(expectedSpanMs(kind, holdMs, options.replicas) * (options.spanFactor ?? 1));
    const replicaTarget = REPLICA_KINDS.has(kind) ? random.int(options.replicas) : undefined;
    const shared = SERVICE_KINDS.has(kind) || GROUP_KINDS.has(kind);
    let placed: Occupied | undefined;
    for (let attempt = 0; attempt < 32 && !placed; attempt += 1) {
      const startMs = earliest + random.int(latest - earliest);
      const window = { startMs, endMs: startMs + spanMs };
      const busy = [
        ...(shared ? [...services, ...exclusive] : []),
        ...(replicaTarget === undefined ? [] : (byReplica.get(replicaTarget) ?? [])),
      ];
      if (!busy.some((w) => overlaps(w, window))) placed = window;
    }
    if (!placed) return false;
    if (SERVICE_KINDS.has(kind)) services.push(placed);
    if (GROUP_KINDS.has(kind)) exclusive.push(placed);
    if (replicaTarget !== undefined) {
      byReplica.set(replicaTarget, [...(byReplica.get(replicaTarget) ?? []), placed]);
    }
    const fault: Omit<ScheduledFault, 'label'> = {
      kind,
      atMs: placed.startMs,
      holdMs,
      spanMs,
      ...(replicaTarget === undefined ? {} : { replica: replicaTarget }),
      ...(NETWORK_KINDS.has(kind) ? { dependency: drawDependency(kind, random) } : {}),
      ...(kind === 'net-latency' ? { latencyMs: 50 + random.int(351) } : {}),
      ...(kind === 'net-refuse'
        ? { refusal: CONNECTION_REFUSALS[random.int(CONNECTION_REFUSALS.length)] }
        : {}),
    };
    schedule.push({ ...fault, label: describe(fault) });
    return true;
  };

  // Rounds over the shuffled kinds: each kind once before any twice. A kind that fits nowhere this round
  // (the shared services are busy for the whole window) gives its turn to the next.
  let round: FaultKind[] = [];
  let misses = 0;
  while (schedule.length < count && misses < pool.length * 2) {
    if (round.length === 0) round = random.shuffle([...pool]);
    const kind = round.shift() as FaultKind;
    if (place(kind)) misses = 0;
    else misses += 1;
  }
  return schedule.sort((a, b) => a.atMs - b.atMs);
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
