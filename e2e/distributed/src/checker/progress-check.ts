import { TOPICS } from '@els/contracts';
import type { BatchExpectation, SentLogLine } from '@els/workload';
import type { ObservedMessage } from '@els/harness';
import { originOf } from './attribution';
import { dataOf, eventIdOf, textKey } from '../history/history-index';

/**
 * Progress under faults (invariant 11, no stuck peer), judged from the history instead of assumed: per
 * fault window, the longest time the replicas outside the fault's target went without progress while work
 * they could take was outstanding (the window's stall), against a bound derived from the configuration the
 * replicas ran with. Pure: the scenario gathers the history, the windows and the configuration.
 *
 * - Progress: a resolution, i.e. a distinct slot-assigned or excess event (its earliest record), at its
 *   record's timestamp, by the replica its `x-els-origin` header names (the replica whose transaction wrote
 *   it, whichever relay published it).
 * - Work: each valid text of a registered batch, outstanding from when it could be resolved (the later of
 *   the broker's acknowledgement of its first copy and of its batch's registration) until its resolution.
 * - Work the peers could take: partition ownership is not in the history, so a text counts for a window
 *   when a replica other than the window's target resolved it, or when nothing resolved it (a lost text is
 *   outstanding for everyone). The target's own texts (on the partitions it holds while it is paused or down)
 *   may wait for it, up to the session timeout, and are not counted.
 * - Stall of a window: the longest interval inside [start, end + bound] during which work the peers could
 *   take was outstanding and no replica other than the target resolved anything. The window is extended by
 *   its bound because a fault's effect outlasts it by design (a lock the paused replica held is released by
 *   the idle-in-transaction timeout after the pause may have ended); a stall that begins after the window
 *   ended is cut at end + bound, so it can never exceed the bound and is not charged to this window.
 * - Stall of a partition: a replica takes each input partition's messages one after another (several
 *   partitions at once), so a peer whose transaction waits for the paused replica's row locks stalls only
 *   the partition it is on, and goes on resolving texts of its other partitions: the peers as a whole show
 *   progress. Per input partition of texts sent once, the longest interval without a resolution of its
 *   texts while one of them waited, resolved by a replica other than the target (or never), is judged
 *   against the same bound, on the same time as the window's stall. The replica that resolved the text a
 *   partition waited for held it; when that replica was under a fault of its own meanwhile, its
 *   partition waited for it by design, and the stall is cut where that fault began.
 * - Faults on one replica that leave it in the group (pauses, network faults between one replica and a
 *   dependency) are judged against the peers' bound: statement timeout + idle-in-transaction timeout + a
 *   slack (see `progressBounds`). Faults that take a member out of the group (a kill, a pause
 *   past the session timeout) are judged against the session timeout plus that bound (`MEMBER_LOST`), as
 *   are faults that keep a member from rejoining (frozen, or cut off from the broker) while the group
 *   rebalances (`rebalancedBy`), and every window such a fault overlaps (`heldUpBy`): the whole group waits
 *   in that rebalance.
 *   Faults on a shared service or on the whole group are reported, not judged (`NOT_JUDGED`).
 * - Faults of the last two sorts stop every replica's work for a while by design; the time they cover (until
 *   every peer resolved something after them, `coverOf`) is left out of the other windows' stalls, so a
 *   pause overlapping a broker crash is judged only on the time after the others were back.
 */

/** The worker settings the bounds derive from (the replicas' parsed configuration, `WorkerConfig` names). */
export interface ProgressSettings {
  dbIdleInTransactionTimeoutMs: number;
  dbStatementTimeoutMs: number;
  retryMaxBackoffMs: number;
  relayPollIntervalMs: number;
  consumerSessionTimeoutMs: number;
}

export const PROGRESS_SETTING_KEYS: readonly (keyof ProgressSettings)[] = [
  'dbIdleInTransactionTimeoutMs',
  'dbStatementTimeoutMs',
  'retryMaxBackoffMs',
  'relayPollIntervalMs',
  'consumerSessionTimeoutMs',
];

export interface ProgressBounds {
  /** How long the peers of a replica under a fault may go without progress while work waits for them. */
  peerStallMs: number;
  /** The same when the fault took the replica out of the group (killed, or paused past its session). */
  memberLostStallMs: number;
  /** The slack inside `peerStallMs`: one retry and one relay poll. */
  slackMs: number;
}

/**
 * The peers' bound. A replica frozen (or cut off from PostgreSQL) inside a transaction keeps its row locks
 * until PostgreSQL ends its session: the statement it was in ends within the statement timeout (which
 * counts its lock waits too: the lock timeout is the shorter one), then the session sits idle in its
 * transaction until the idle-in-transaction timeout ends it, and the locks go. A peer waiting for them gets
 * them at that moment, or, when its own wait had run out at its lock timeout, at its next attempt, one retry
 * backoff later (`retryMaxBackoffMs`); its event then reaches the topic, where the history sees it, within
 * one relay poll (`relayPollIntervalMs`). The lock timeout is not added: it only sets how often a waiting
 * peer asks again, and a peer blocked behind another peer's transaction is freed when that one's wait runs
 * out, sooner. Bound = statement + idle-in-transaction timeouts + slack (retry backoff + relay poll).
 *
 * A replica that is gone without leaving the group (SIGKILL, or frozen past its session) stays a member
 * until its session timeout: a rebalance meanwhile (the killed replica's restart joins under a new member
 * id) waits for it, and no member consumes until the coordinator drops it. The peers may then wait the
 * session timeout on top of their bound (measured: 28 s of no progress after a relay-kill, seed 1).
 */
export function progressBounds(settings: ProgressSettings): ProgressBounds {
  const slackMs = settings.retryMaxBackoffMs + settings.relayPollIntervalMs;
  const peerStallMs = settings.dbStatementTimeoutMs + settings.dbIdleInTransactionTimeoutMs + slackMs;
  return {
    peerStallMs,
    memberLostStallMs: settings.consumerSessionTimeoutMs + peerStallMs,
    slackMs,
  };
}

export interface ProgressEvent {
  atMs: number;
  /** The replica (instance id) that made it; undefined when the record has no origin header. */
  replica: string | undefined;
  /** The input partition (`topic/partition`) of the text it resolved, when that text was sent once. */
  partition?: string;
}

export interface WorkItem {
  /** `batch/text`, for messages. */
  key: string;
  resolvableAtMs: number;
  /** Undefined: never resolved. */
  resolvedAtMs: number | undefined;
  resolvedBy: string | undefined;
  /**
   * The input partition (`topic/partition`) the text was sent to, when it was sent once: a partition's
   * messages are taken one after another, so its texts queue behind one that waits. Undefined for a text
   * sent several times (its copies sit on several partitions; whichever comes first resolves it).
   */
  partition?: string;
}

export interface ProgressFault {
  label: string;
  /** The fault kind (`replica-pause`, …; `redis-stopped` for scenario 5's outage). */
  kind: string;
  /** The replica (instance id) the fault acts on; undefined for faults on a shared service or the group. */
  replica?: string;
  /** For a network fault: the dependency cut off or slowed (`postgres`, `redis`, `kafka`). */
  dependency?: string;
  startMs: number;
  endMs: number;
  /** The fault did nothing (no target, no control): why. Such a window is not judged and excuses nothing. */
  skipped?: string;
}

/**
 * Kinds whose effect stops every replica's work by design, with why: no replica is outside them, and
 * their recovery time is set by clients' reconnect backoffs and the broker's group protocol, not by a
 * bound of the worker's own. Their stall is reported; the time they cover (window plus the peers' bound)
 * does not count against the other windows.
 */
export const NOT_JUDGED: Readonly<Record<string, string>> = {
  'postgres-crash': 'PostgreSQL down for every replica',
  'postgres-restart': 'PostgreSQL down for every replica',
  'postgres-read-only': 'the database refuses every replica’s writes',
  'kafka-crash': 'the broker down for every replica',
  'kafka-restart': 'the broker down for every replica',
  'kafka-produce-refusal': 'the broker refuses every replica’s publishes: no record reaches a topic',
  'redis-restart': 'Redis down for every replica',
  'redis-stopped': 'Redis down for every replica',
  'rolling-restart': 'every replica restarts; each restart rebalances the group',
  'scale-up': 'the group rebalances: every member gives up its partitions',
  'scale-down': 'the group rebalances: every member gives up its partitions',
};

/** Kinds that take their replica out of the group without it leaving: judged against `memberLostStallMs`. */
export const MEMBER_LOST: ReadonlySet<string> = new Set(['replica-kill', 'relay-kill', 'replica-long-pause']);

/** Kinds that freeze their replica while it stays a member of the group. */
const FROZEN: ReadonlySet<string> = new Set(['replica-pause', 'replica-lock-pause']);

/** Network faults that stop a replica's requests to its dependency from being answered (not mere latency). */
const CUT_OFF: ReadonlySet<string> = new Set(['net-blackhole', 'net-refuse', 'net-reset']);

/**
 * A fault during which its replica stays a member of the group but cannot answer a rebalance: frozen, or cut
 * off from the broker. A rebalance meanwhile waits for it until its session times out (measured: a replica
 * whose broker connections were refused for 20.6 s across a broker restart left the peers without progress
 * for 27.1 s, seed 9706, until the coordinator dropped it).
 */
const cannotRejoin = (fault: ProgressFault): boolean =>
  FROZEN.has(fault.kind) || (fault.dependency === 'kafka' && CUT_OFF.has(fault.kind));

/** Kinds that stop their replica (SIGSTOP) for the window, in the group or not: it makes no progress. */
const STOPPED: ReadonlySet<string> = new Set([...FROZEN, 'replica-long-pause']);

/**
 * The spans during which every replica other than `target` was stopped by a fault: no peer could make
 * progress, whatever the worker does. Replicas are those the history or the faults name.
 */
function peersStopped(
  target: string | undefined,
  faults: readonly ProgressFault[],
  events: readonly ProgressEvent[],
): Span[] {
  const replicas = new Set<string>();
  for (const event of events) if (event.replica !== undefined) replicas.add(event.replica);
  for (const fault of faults) if (fault.replica !== undefined) replicas.add(fault.replica);
  if (target !== undefined) replicas.delete(target);
  let common: Span[] | undefined;
  for (const replica of replicas) {
    const stopped = faults
      .filter((f) => f.replica === replica && f.skipped === undefined && STOPPED.has(f.kind))
      .map((f) => ({ from: f.startMs, to: f.endMs }));
    common =
      common === undefined
        ? stopped
        : common.flatMap((a) =>
            stopped
              .map((b) => ({ from: Math.max(a.from, b.from), to: Math.min(a.to, b.to) }))
              .filter((s) => s.from < s.to),
          );
  }
  return common ?? [];
}

/**
 * Kinds that make the group rebalance: a broker restart (every member rejoins the coordinator), a member
 * joining, leaving or restarting. A rebalance waits for every member to rejoin, a frozen one too, until it
 * thaws or its session times out: nobody consumes meanwhile (measured: a lock pause of 16.6 s overlapping a
 * broker restart left the peers without progress for 23.5 s, seed 8104, ending once the frozen replica
 * had rejoined).
 */
const REBALANCING: ReadonlySet<string> = new Set([
  'kafka-crash',
  'kafka-restart',
  'rolling-restart',
  'scale-up',
  'scale-down',
  'replica-kill',
  'relay-kill',
  'replica-long-pause',
]);

export interface ProgressWindow {
  label: string;
  kind: string;
  replica?: string;
  startMs: number;
  endMs: number;
  /** Longest time without progress by the replicas outside the fault while work they could take waited. */
  stallMs: number;
  /** When the longest stall began (ms since epoch); absent when there was none. */
  stallFromMs?: number;
  boundMs: number;
  /**
   * The longest time one input partition taken by a replica outside the fault went without a resolution
   * while a text on it waited, over the time no other fault could explain (see `partitionStall`).
   */
  partitionStallMs?: number;
  /** That partition (`topic/partition`) and when its stall began. */
  stalledPartition?: string;
  partitionStallFromMs?: number;
  judged: boolean;
  /** How much of [start, end + bound] was judged: the rest lay inside windows of `excluded`. */
  judgedMs?: number;
  /** Windows that stop every replica for a while and overlapped this one; their time was left out. */
  excluded?: string[];
  /**
   * Faults on other replicas that began inside this window's time: each may hold locks of its own for up to
   * the bound from its start, so the stall is measured again from each start.
   */
  restartedBy?: string[];
  /**
   * A frozen (or broker-cut) replica's window during which the group rebalanced (this fault's label): the
   * peers waited for that member to rejoin, so the window is judged against the session timeout plus their
   * bound.
   */
  rebalancedBy?: string;
  /**
   * Another replica's fault that kept its member from rejoining a rebalance during this window (see
   * `rebalancedBy`): the group, and so this window's peers, waited for that member, and the window is
   * judged against the session timeout plus the peers' bound too.
   */
  heldUpBy?: string;
  /** Why the window is not judged. */
  reason?: string;
  passed: boolean;
}

export interface ProgressInput {
  events: readonly ProgressEvent[];
  work: readonly WorkItem[];
  faults: readonly ProgressFault[];
  bounds: ProgressBounds;
}

export interface ProgressResult {
  windows: ProgressWindow[];
  /** One entry per judged window whose stall exceeded its bound. */
  problems: string[];
}

interface Span {
  from: number;
  to: number;
}

/** `span` minus every span of `cuts`, as disjoint spans in order. */
function subtract(span: Span, cuts: readonly Span[]): Span[] {
  let pieces: Span[] = [span];
  for (const cut of cuts) {
    pieces = pieces.flatMap((piece) => {
      if (cut.to <= piece.from || cut.from >= piece.to) return [piece];
      const left = cut.from > piece.from ? [{ from: piece.from, to: cut.from }] : [];
      const right = cut.to < piece.to ? [{ from: cut.to, to: piece.to }] : [];
      return [...left, ...right];
    });
  }
  return pieces;
}

/**
 * The longest stall inside `span` for the replicas other than `target`: gaps between their progress events
 * during which work they could take was outstanding. Within a gap no peer text is resolved (a resolution is
 * a progress event), so the outstanding set only grows: the gap stalls from the first moment one of the
 * texts resolved at its end or later (or never) was resolvable.
 */
function longestStall(
  span: Span,
  target: string | undefined,
  events: readonly ProgressEvent[],
  work: readonly WorkItem[],
  cutAt?: (resolver: string | undefined, from: number, to: number) => number,
): { stallMs: number; fromMs?: number } {
  const times = events
    .filter((event) => target === undefined || event.replica !== target)
    .map((event) => event.atMs)
    .sort((a, b) => a - b);
  const peerWork = work.filter((item) => target === undefined || item.resolvedBy !== target);
  const boundaries = [-Infinity, ...times.filter((t) => t > span.from && t < span.to), Infinity];
  let best: { stallMs: number; fromMs?: number } = { stallMs: 0 };
  for (let i = 0; i + 1 < boundaries.length; i += 1) {
    const gapStart = Math.max(boundaries[i] as number, span.from);
    const gapEnd = boundaries[i + 1] as number;
    let to = Math.min(gapEnd, span.to);
    // Texts outstanding somewhere in the gap: resolved at its end or later (or never), resolvable before it.
    let firstWaiting: WorkItem | undefined;
    for (const item of peerWork) {
      const resolved = item.resolvedAtMs ?? Infinity;
      if (resolved >= to && item.resolvableAtMs < to) {
        if (!firstWaiting || item.resolvableAtMs < firstWaiting.resolvableAtMs) firstWaiting = item;
      }
    }
    const from = Math.max(gapStart, firstWaiting?.resolvableAtMs ?? Infinity);
    if (cutAt && from < to) to = cutAt(firstWaiting?.resolvedBy, from, to);
    if (to - from > best.stallMs) best = { stallMs: to - from, fromMs: from };
  }
  return best;
}

/**
 * The longest stall of one input partition inside `pieces`: `longestStall` over the texts sent once to
 * that partition and the resolutions of those texts only, for every partition. A replica takes a
 * partition's texts one after another, so the replica that resolved the text a stall waited for is the one
 * that held the partition: when that replica was under a fault of its own meanwhile (`faultsOf`: the
 * spans from each of its faults' start to its end plus its bound), the stall is cut where that fault began.
 */
function partitionStall(
  pieces: readonly Span[],
  target: string | undefined,
  events: readonly ProgressEvent[],
  work: readonly WorkItem[],
  faultsOf: (replica: string) => readonly Span[],
): { stallMs: number; fromMs?: number; partition?: string } {
  const byPartition = new Map<string, { events: ProgressEvent[]; work: WorkItem[] }>();
  const of = (partition: string) => {
    let entry = byPartition.get(partition);
    if (!entry) byPartition.set(partition, (entry = { events: [], work: [] }));
    return entry;
  };
  for (const item of work) if (item.partition !== undefined) of(item.partition).work.push(item);
  for (const event of events) if (event.partition !== undefined) of(event.partition).events.push(event);
  const cutAt = (resolver: string | undefined, from: number, to: number) => {
    if (resolver === undefined) return to;
    let cut = to;
    for (const own of faultsOf(resolver)) {
      if (own.from < cut && own.to > from) cut = Math.max(from, Math.min(cut, own.from));
    }
    return cut;
  };
  let best: { stallMs: number; fromMs?: number; partition?: string } = { stallMs: 0 };
  for (const [partition, history] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const piece of pieces) {
      const found = longestStall(piece, target, history.events, history.work, cutAt);
      if (found.stallMs > best.stallMs) best = { ...found, partition };
    }
  }
  return best;
}

/**
 * The time a fault that stops every replica covers, as seen by the peers of `target`: from its start until
 * every replica other than `target` that resolves anything after the fault's end has done so (each
 * reconnects on its own backoff; one that never resolves anything again is gone). From then on the peers
 * are back, and a stall is a new one, to be judged.
 */
function coverOf(fault: ProgressFault, target: string | undefined, events: readonly ProgressEvent[]): Span {
  const firstAfter = new Map<string | undefined, number>();
  for (const event of events) {
    if (event.atMs < fault.endMs || (target !== undefined && event.replica === target)) continue;
    if (!firstAfter.has(event.replica) || event.atMs < (firstAfter.get(event.replica) as number)) {
      firstAfter.set(event.replica, event.atMs);
    }
  }
  const recovered = Math.max(fault.endMs, ...firstAfter.values());
  return { from: fault.startMs, to: recovered };
}

/** Why a window is not judged on its own terms (its kind, a fault that did nothing, no target); else undefined. */
function ownJudgement(fault: ProgressFault): string | undefined {
  if (fault.skipped !== undefined) return `the fault did nothing: ${fault.skipped}`;
  return (
    NOT_JUDGED[fault.kind] ?? (fault.replica === undefined ? 'the target replica is unknown' : undefined)
  );
}

/** `spans` cut at each of `points` inside them. */
function split(spans: readonly Span[], points: readonly number[]): Span[] {
  return spans.flatMap((span) => {
    const inside = points.filter((point) => point > span.from && point < span.to).sort((a, b) => a - b);
    const edges = [span.from, ...inside, span.to];
    return edges.slice(1).map((to, i) => ({ from: edges[i] as number, to }));
  });
}

export function checkProgress(input: ProgressInput): ProgressResult {
  const { bounds } = input;
  /** A rebalance while `fault` kept its replica from rejoining: the group waited for that member. */
  const rebalanceDuring = (fault: ProgressFault) =>
    cannotRejoin(fault)
      ? input.faults.find(
          (other) =>
            other !== fault &&
            other.skipped === undefined &&
            REBALANCING.has(other.kind) &&
            other.replica !== fault.replica &&
            other.startMs < fault.endMs &&
            other.endMs > fault.startMs,
        )
      : undefined;
  /**
   * Another replica's fault that kept its member from rejoining while the group rebalanced, during this
   * window or within the peers' bound after it: every member waits in that rebalance, the peers of this
   * window too, until that member rejoins or its session times out (seed 9904: a replica frozen across a
   * broker crash held up the group for 19 s during another replica's PostgreSQL latency fault).
   */
  const heldUpBy = (fault: ProgressFault) =>
    input.faults.find(
      (other) =>
        other !== fault &&
        other.skipped === undefined &&
        other.replica !== fault.replica &&
        rebalanceDuring(other) !== undefined &&
        other.startMs < fault.endMs + bounds.peerStallMs &&
        other.endMs > fault.startMs,
    );
  /** Per fault: the rebalance it kept its member out of, the one another fault held up, and its bound. */
  const judgement = new Map(
    input.faults.map((fault) => {
      const rebalance = rebalanceDuring(fault);
      const heldUp = heldUpBy(fault);
      const memberLost = MEMBER_LOST.has(fault.kind) || rebalance !== undefined || heldUp !== undefined;
      return [
        fault,
        { rebalance, heldUp, boundMs: memberLost ? bounds.memberLostStallMs : bounds.peerStallMs },
      ];
    }),
  );
  const boundOf = (fault: ProgressFault) => judgement.get(fault)?.boundMs ?? bounds.peerStallMs;
  const windows: ProgressWindow[] = [];
  const problems: string[] = [];
  const stopsEveryone = input.faults.filter(
    (fault) =>
      fault.skipped === undefined && (NOT_JUDGED[fault.kind] !== undefined || MEMBER_LOST.has(fault.kind)),
  );
  for (const fault of input.faults) {
    const boundMs = boundOf(fault);
    const span = { from: fault.startMs, to: fault.endMs + boundMs };
    // Time another fault stops every replica for is not this window's to judge.
    const covering = stopsEveryone
      .filter((other) => other !== fault)
      .map((other) => ({ fault: other, span: coverOf(other, fault.replica, input.events) }))
      .filter((other) => other.span.from < span.to && other.span.to > span.from);
    const ownReason = ownJudgement(fault);
    // Time during which every peer was stopped itself is no peer's to account for either.
    const stoppedPeers =
      ownReason === undefined ? peersStopped(fault.replica, input.faults, input.events) : [];
    const pieces =
      ownReason === undefined
        ? subtract(span, [...covering.map((other) => other.span), ...stoppedPeers])
        : [span];
    const reason =
      ownReason ??
      (pieces.length === 0
        ? covering.length > 0
          ? `inside the time of ${covering.map((other) => other.fault.label).join(', ')}`
          : 'every other replica was stopped throughout'
        : undefined);
    // Another replica frozen (or cut off) meanwhile may hold locks of its own: each one releases them within
    // the bound of its own start, so the stall clock starts again when another one-replica fault begins.
    const peerJudged = ownReason === undefined && !MEMBER_LOST.has(fault.kind);
    const restarts = input.faults.filter(
      (other) =>
        peerJudged &&
        other !== fault &&
        ownJudgement(other) === undefined &&
        !MEMBER_LOST.has(other.kind) &&
        other.replica !== fault.replica &&
        other.startMs > span.from &&
        other.startMs < span.to,
    );
    // A fault on one replica is measured on its peers, judged or not; a service or group fault on all.
    const target = fault.replica;
    let stall: { stallMs: number; fromMs?: number } = { stallMs: 0 };
    for (const piece of split(
      pieces,
      restarts.map((other) => other.startMs),
    )) {
      const found = longestStall(piece, target, input.events, input.work);
      if (found.stallMs > stall.stallMs) stall = found;
    }
    // A partition's stall, cut where a fault of the replica that held it began.
    const faultsOf = (replica: string) =>
      input.faults
        .filter((other) => other !== fault && other.skipped === undefined && other.replica === replica)
        .map((other) => ({ from: other.startMs, to: other.endMs + boundOf(other) }));
    const stalledPartition =
      ownReason === undefined
        ? partitionStall(
            split(
              pieces,
              restarts.map((other) => other.startMs),
            ),
            target,
            input.events,
            input.work,
            faultsOf,
          )
        : { stallMs: 0 };
    const judged = reason === undefined;
    const judgedMs = judged ? pieces.reduce((sum, piece) => sum + piece.to - piece.from, 0) : 0;
    const passed = !judged || (stall.stallMs <= boundMs && stalledPartition.stallMs <= boundMs);
    windows.push({
      label: fault.label,
      kind: fault.kind,
      ...(fault.replica === undefined ? {} : { replica: fault.replica }),
      startMs: fault.startMs,
      endMs: fault.endMs,
      stallMs: stall.stallMs,
      ...(stall.fromMs === undefined ? {} : { stallFromMs: stall.fromMs }),
      boundMs,
      ...(stalledPartition.partition === undefined
        ? {}
        : {
            partitionStallMs: stalledPartition.stallMs,
            stalledPartition: stalledPartition.partition,
            partitionStallFromMs: stalledPartition.fromMs,
          }),
      judged,
      ...(judged ? { judgedMs } : {}),
      ...(judged && covering.length > 0 ? { excluded: covering.map((other) => other.fault.label) } : {}),
      ...(judged && restarts.length > 0 ? { restartedBy: restarts.map((other) => other.label) } : {}),
      ...(judgement.get(fault)?.rebalance ? { rebalancedBy: judgement.get(fault)?.rebalance?.label } : {}),
      ...(judgement.get(fault)?.heldUp ? { heldUpBy: judgement.get(fault)?.heldUp?.label } : {}),
      ...(reason === undefined ? {} : { reason }),
      passed,
    });
    if (judged && stall.stallMs > boundMs) {
      problems.push(
        `${fault.label}: the replicas other than ${fault.replica} made no progress for ${stall.stallMs} ms while work they could take waited (bound ${boundMs} ms), from ${new Date(stall.fromMs ?? 0).toISOString()}`,
      );
    }
    if (judged && stalledPartition.stallMs > boundMs) {
      problems.push(
        `${fault.label}: input partition ${stalledPartition.partition} of a replica other than ${fault.replica} resolved nothing for ${stalledPartition.stallMs} ms while a text on it waited (bound ${boundMs} ms), from ${new Date(stalledPartition.fromMs ?? 0).toISOString()}`,
      );
    }
  }
  return { windows, problems };
}

/**
 * The progress events and the work of a run's history: distinct slot-assigned and excess events (the
 * earliest record of each event id) with their origin, and every distinct text of a registered batch with
 * the time it became resolvable (the broker's acknowledgement of its first copy and of its registration,
 * whichever came later: before that no replica could have read both) and its resolution, if any.
 */
export function progressOfHistory(history: {
  sent: readonly SentLogLine[];
  expectations: readonly BatchExpectation[];
  outputs: readonly ObservedMessage[];
}): { events: ProgressEvent[]; work: WorkItem[] } {
  const earliest = new Map<string, ObservedMessage>();
  for (const record of history.outputs) {
    if (record.topic !== TOPICS.essaySlotAssigned && record.topic !== TOPICS.excessContentProvisioned)
      continue;
    if (!record.value) continue;
    const id = `${record.topic} ${eventIdOf(record)}`;
    const first = earliest.get(id);
    if (!first || record.timestampMs < first.timestampMs) earliest.set(id, record);
  }
  // Each text's copies (content and duplicates) as acknowledged: the partition of a text sent once.
  const copies = new Map<string, string[]>();
  for (const line of history.sent) {
    if (line.rejected !== undefined || line.textStorageId === null) continue;
    if (line.kind !== 'content' && line.kind !== 'duplicate') continue;
    const key = textKey(line.batchId, line.textStorageId);
    copies.set(key, [...(copies.get(key) ?? []), `${line.topic}/${line.partition}`]);
  }
  const partitionOf = (key: string) => {
    const list = copies.get(key);
    return list?.length === 1 ? list[0] : undefined;
  };
  const events: ProgressEvent[] = [];
  const resolution = new Map<string, ProgressEvent>();
  for (const record of earliest.values()) {
    const data = dataOf(record);
    const key = textKey(String(data['batch_id']), String(data['text_storage_id']));
    const partition = partitionOf(key);
    const event: ProgressEvent = {
      atMs: record.timestampMs,
      replica: originOf(record),
      ...(partition === undefined ? {} : { partition }),
    };
    events.push(event);
    const known = resolution.get(key);
    if (!known || event.atMs < known.atMs) resolution.set(key, event);
  }
  const registered = new Set(history.expectations.filter((e) => e.registrationSent).map((e) => e.batchId));
  const registrationAt = new Map<string, number>();
  const textAt = new Map<string, number>();
  for (const line of history.sent) {
    if (line.rejected !== undefined) continue;
    const at = line.ackedAtMs;
    if (line.kind === 'registration' && !registrationAt.has(line.batchId))
      registrationAt.set(line.batchId, at);
    if ((line.kind === 'content' || line.kind === 'duplicate') && line.textStorageId !== null) {
      const key = textKey(line.batchId, line.textStorageId);
      textAt.set(key, Math.min(textAt.get(key) ?? Infinity, at));
    }
  }
  const work: WorkItem[] = [];
  for (const [key, at] of textAt) {
    const batchId = key.slice(0, key.indexOf('/'));
    if (!registered.has(batchId)) continue;
    const resolved = resolution.get(key);
    work.push({
      key,
      resolvableAtMs: Math.max(at, registrationAt.get(batchId) ?? at),
      resolvedAtMs: resolved?.atMs,
      resolvedBy: resolved?.replica,
      ...(partitionOf(key) === undefined ? {} : { partition: partitionOf(key) }),
    });
  }
  return { events: events.sort((a, b) => a.atMs - b.atMs), work };
}
