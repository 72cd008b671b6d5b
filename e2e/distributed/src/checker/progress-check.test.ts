import {
  checkProgress,
  progressBounds,
  type ProgressEvent,
  type ProgressFault,
  type WorkItem,
} from './progress-check';

// The suite's settings: idle in transaction 5 s, statement 10 s, retry 1 s, relay poll 1 s.
const bounds = progressBounds({
  dbIdleInTransactionTimeoutMs: 5000,
  dbStatementTimeoutMs: 10_000,
  retryMaxBackoffMs: 1000,
  relayPollIntervalMs: 1000,
  consumerSessionTimeoutMs: 30_000,
});

const R1 = 's7-faults-3r-r1';
const R2 = 's7-faults-3r-r2';
const R3 = 's7-faults-3r-r3';

/**
 * A steady history from `fromMs` to `toMs`: a text every 100 ms, resolvable at once, resolved 50 ms later
 * by the replicas in turn, except during `gaps` (per replica: nothing resolved by it inside, the texts it
 * would have resolved there resolved at the gap's end).
 */
function steady(
  fromMs: number,
  toMs: number,
  gaps: Partial<Record<string, { from: number; to: number }>> = {},
): { events: ProgressEvent[]; work: WorkItem[] } {
  const replicas = [R1, R2, R3];
  const events: ProgressEvent[] = [];
  const work: WorkItem[] = [];
  for (let at = fromMs, n = 0; at < toMs; at += 100, n += 1) {
    const replica = replicas[n % replicas.length] as string;
    const gap = gaps[replica];
    let resolvedAtMs = at + 50;
    if (gap && resolvedAtMs >= gap.from && resolvedAtMs < gap.to) resolvedAtMs = gap.to;
    events.push({ atMs: resolvedAtMs, replica });
    work.push({ key: `b/t${n}`, resolvableAtMs: at, resolvedAtMs, resolvedBy: replica });
  }
  return { events: events.sort((a, b) => a.atMs - b.atMs), work };
}

const pause = (
  replica: string,
  startMs: number,
  endMs: number,
  label = 'SIGSTOP r2 18.0 s',
): ProgressFault => ({
  label,
  kind: 'replica-lock-pause',
  replica,
  startMs,
  endMs,
});

/** A broker restart from 10 s to 18 s: every member must rejoin the group. */
const brokerRestart: ProgressFault = {
  label: 'kafka-restart',
  kind: 'kafka-restart',
  startMs: 10_000,
  endMs: 18_000,
};

describe('the progress check', () => {
  it('derives the peers’ bound from the timeouts the replicas run with, plus one retry and one relay poll', () => {
    expect(bounds).toEqual({ peerStallMs: 17_000, memberLostStallMs: 47_000, slackMs: 2000 });
  });

  it('fails a pause window inside which the peers stall longer than the bound, naming the window and the stall', () => {
    // r2 frozen 10-35 s while holding locks the peers need: nobody resolves anything from 10 to 35 s.
    const history = steady(0, 60_000, {
      [R1]: { from: 10_000, to: 35_000 },
      [R2]: { from: 10_000, to: 35_000 },
      [R3]: { from: 10_000, to: 35_000 },
    });
    const result = checkProgress({ ...history, faults: [pause(R2, 10_000, 33_000)], bounds });
    expect(result.windows).toHaveLength(1);
    const [window] = result.windows;
    expect(window).toMatchObject({
      label: 'SIGSTOP r2 18.0 s',
      judged: true,
      passed: false,
      boundMs: 17_000,
    });
    // From the first text a peer could take after the window began (sent at 10.1 s; the one of 10.0 s was
    // r2's) to the next resolution, at 35 s.
    expect(window?.stallMs).toBe(24_900);
    expect(result.problems).toEqual([
      `SIGSTOP r2 18.0 s: the replicas other than ${R2} made no progress for 24900 ms while work they could take waited (bound 17000 ms), from ${new Date(10_100).toISOString()}`,
    ]);
  });

  it('passes a pause whose peers stalled for less than the bound (the idle-in-transaction timeout freed them)', () => {
    const history = steady(0, 60_000, {
      [R1]: { from: 10_000, to: 15_500 },
      [R2]: { from: 10_000, to: 28_000 },
      [R3]: { from: 10_000, to: 15_500 },
    });
    const result = checkProgress({ ...history, faults: [pause(R2, 10_000, 28_000)], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({ judged: true, passed: true, stallMs: 15_500 - 10_100 });
  });

  it('does not count the paused replica’s own texts, which may wait for it up to the session timeout', () => {
    // r2 paused 10-38 s (past the bound); its texts wait for it, the peers keep resolving theirs.
    const history = steady(0, 60_000, { [R2]: { from: 10_000, to: 38_000 } });
    const result = checkProgress({ ...history, faults: [pause(R2, 10_000, 38_000)], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]?.stallMs).toBeLessThan(300);
  });

  it('finds no stall while no work is outstanding, however long nothing happens', () => {
    const before = steady(0, 10_000);
    const after = steady(50_000, 60_000);
    const result = checkProgress({
      events: [...before.events, ...after.events],
      work: [...before.work, ...after.work],
      faults: [pause(R2, 12_000, 25_000)],
      bounds,
    });
    // The window and its bound end at 45 s, before the next text is sent.
    expect(result.windows[0]).toMatchObject({ stallMs: 0, passed: true });
  });

  it('counts a text nothing ever resolved as outstanding work for the peers', () => {
    const history = steady(0, 10_000);
    const lost: WorkItem = {
      key: 'b/lost',
      resolvableAtMs: 11_000,
      resolvedAtMs: undefined,
      resolvedBy: undefined,
    };
    const result = checkProgress({
      events: history.events,
      work: [...history.work, lost],
      faults: [pause(R2, 12_000, 20_000)],
      bounds,
    });
    // From 12 s (the window's start) to 37 s (its end plus the bound).
    expect(result.windows[0]).toMatchObject({ stallMs: 25_000, passed: false });
  });

  it('does not charge a window with a stall that begins after it healed: cut at its end plus the bound', () => {
    const history = steady(0, 80_000, {
      [R1]: { from: 25_000, to: 70_000 },
      [R2]: { from: 25_000, to: 70_000 },
      [R3]: { from: 25_000, to: 70_000 },
    });
    const result = checkProgress({ ...history, faults: [pause(R2, 10_000, 12_000)], bounds });
    // From the first peer text stuck (25.1 s; the one of 25.0 s is r2's) to the window's end plus the bound.
    expect(result.windows[0]).toMatchObject({ passed: true, stallMs: 12_000 + 17_000 - 25_100 });
  });

  it('reports a service-wide fault’s stall without judging it, and leaves the time it covers out of the other windows', () => {
    // Everything stops from 10 s to 45 s: PostgreSQL down from 10 to 22 s (the replicas reconnect on their
    // backoff), r2 paused from 11 to 14 s.
    const history = steady(0, 60_000, {
      [R1]: { from: 10_000, to: 45_000 },
      [R2]: { from: 10_000, to: 45_000 },
      [R3]: { from: 10_000, to: 45_000 },
    });
    const crash: ProgressFault = {
      label: 'postgres-crash',
      kind: 'postgres-crash',
      startMs: 10_000,
      endMs: 22_000,
    };
    const result = checkProgress({ ...history, faults: [crash, pause(R2, 11_000, 14_000)], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({
      kind: 'postgres-crash',
      judged: false,
      passed: true,
      // Measured over the window and its bound: 10 s to 39 s.
      stallMs: 29_000,
      reason: 'PostgreSQL down for every replica',
    });
    // The pause's own window [11 s, 31 s] lies inside the crash's time [10 s, 45 s]: nothing left to judge.
    expect(result.windows[1]).toMatchObject({
      judged: false,
      passed: true,
      stallMs: 0,
      reason: 'inside the time of postgres-crash',
    });
  });

  it('judges the part of a pause outside a service fault’s time', () => {
    // PostgreSQL down 10-12 s; r2 paused 11-40 s while the peers stall 20-50 s. The crash's time lasts
    // until both peers resolved something again (r3 at 12.25 s).
    const history = steady(0, 90_000, {
      [R1]: { from: 20_000, to: 50_000 },
      [R2]: { from: 20_000, to: 50_000 },
      [R3]: { from: 20_000, to: 50_000 },
    });
    const crash: ProgressFault = {
      label: 'postgres-crash',
      kind: 'postgres-crash',
      startMs: 10_000,
      endMs: 12_000,
    };
    const result = checkProgress({ ...history, faults: [crash, pause(R2, 11_000, 40_000)], bounds });
    expect(result.windows[1]).toMatchObject({
      judged: true,
      passed: false,
      judgedMs: 57_000 - 12_250,
      excluded: ['postgres-crash'],
      // From the first text stuck (r3's of 20.0 s) to the resolutions at 50 s.
      stallMs: 30_000,
    });
  });

  it('still judges a pause overlapping another replica’s pause: the third replica must make progress', () => {
    const history = steady(0, 60_000, {
      [R1]: { from: 10_000, to: 36_000 },
      [R2]: { from: 10_000, to: 36_000 },
      [R3]: { from: 10_000, to: 36_000 },
    });
    const result = checkProgress({
      ...history,
      faults: [pause(R2, 10_000, 30_000, 'SIGSTOP r2'), pause(R1, 12_000, 32_000, 'SIGSTOP r1')],
      bounds,
    });
    expect(result.windows.map((w) => w.passed)).toEqual([false, false]);
    expect(result.problems).toHaveLength(2);
  });

  it('lets the peers of a killed replica wait for the group to drop it: the session timeout plus their bound', () => {
    // r3 killed at 10 s and ready again at 40 s; nobody consumes until the coordinator dropped the old member.
    const history = steady(0, 90_000, {
      [R1]: { from: 10_000, to: 38_000 },
      [R2]: { from: 10_000, to: 38_000 },
      [R3]: { from: 10_000, to: 38_000 },
    });
    const kill: ProgressFault = {
      label: 'SIGKILL r3',
      kind: 'relay-kill',
      replica: R3,
      startMs: 10_000,
      endMs: 40_000,
    };
    const paused = pause(R2, 12_000, 20_000);
    const result = checkProgress({ ...history, faults: [kill, paused], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({ judged: true, passed: true, boundMs: 47_000 });
    expect(result.windows[0]?.stallMs).toBeGreaterThan(27_000);
    // The kill's rebalance began while r2 was frozen: the group waited for r2 too, so its window has the
    // same bound, and the time the kill covers is left out of it.
    expect(result.windows[1]).toMatchObject({
      passed: true,
      boundMs: 47_000,
      rebalancedBy: 'SIGKILL r3',
      excluded: ['SIGKILL r3'],
    });

    const stuck = steady(0, 90_000, {
      [R1]: { from: 10_000, to: 70_000 },
      [R2]: { from: 10_000, to: 70_000 },
      [R3]: { from: 10_000, to: 70_000 },
    });
    const failed = checkProgress({ ...stuck, faults: [kill], bounds });
    expect(failed.windows[0]).toMatchObject({ judged: true, passed: false });
    expect(failed.problems).toHaveLength(1);
  });

  it('lets the peers of a frozen replica wait for it when the group rebalances meanwhile (a broker restart)', () => {
    // r2 frozen 10-27 s; the broker restarts 10-18 s: every member must rejoin, r2 only once it thaws.
    const history = steady(0, 90_000, {
      [R1]: { from: 18_500, to: 42_000 },
      [R2]: { from: 10_000, to: 42_000 },
      [R3]: { from: 18_500, to: 42_000 },
    });
    const frozen = pause(R2, 10_000, 27_000);
    const result = checkProgress({ ...history, faults: [frozen, brokerRestart], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({
      judged: true,
      passed: true,
      boundMs: 47_000,
      rebalancedBy: 'kafka-restart',
    });
    expect(result.windows[0]?.stallMs).toBeGreaterThan(17_000);
    // Without the rebalance the same stall is past the peers' bound.
    const alone = checkProgress({ ...history, faults: [frozen], bounds });
    expect(alone.windows[0]).toMatchObject({ boundMs: 17_000, passed: false });
  });

  it('lets the peers of a replica cut off from the broker wait for it when the group rebalances meanwhile', () => {
    // r3's broker connections refused 12-32 s; the broker restarts 10-18 s: r1 and r2 rejoin at once, and
    // the group waits for r3 until its session times out (seed 9706 measured 27.1 s).
    const history = steady(0, 90_000, {
      [R1]: { from: 22_000, to: 49_000 },
      [R2]: { from: 22_000, to: 49_000 },
      [R3]: { from: 12_000, to: 49_000 },
    });
    const cutOff: ProgressFault = {
      label: 'kafka network unreachable r3, 20.6 s',
      kind: 'net-refuse',
      replica: R3,
      dependency: 'kafka',
      startMs: 12_000,
      endMs: 32_000,
    };
    const result = checkProgress({ ...history, faults: [cutOff, brokerRestart], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({
      judged: true,
      passed: true,
      boundMs: 47_000,
      rebalancedBy: 'kafka-restart',
    });
    expect(result.windows[0]?.stallMs).toBeGreaterThan(17_000);
    // Cut off from PostgreSQL instead, r3 could still rejoin: the peers' bound applies, and they failed it.
    const fromPostgres = checkProgress({
      ...history,
      faults: [{ ...cutOff, dependency: 'postgres' }, brokerRestart],
      bounds,
    });
    expect(fromPostgres.windows[0]).toMatchObject({ boundMs: 17_000, passed: false });
    // Slowed rather than cut off, r3 could rejoin too.
    const slowed = checkProgress({
      ...history,
      faults: [{ ...cutOff, kind: 'net-latency' }, brokerRestart],
      bounds,
    });
    expect(slowed.windows[0]).toMatchObject({ boundMs: 17_000, passed: false });
    // Past the session timeout the peers should have gone on without r3: still a violation.
    const stuck = steady(0, 120_000, {
      [R1]: { from: 22_000, to: 75_000 },
      [R2]: { from: 22_000, to: 75_000 },
      [R3]: { from: 12_000, to: 75_000 },
    });
    const tooLong = checkProgress({ ...stuck, faults: [cutOff, brokerRestart], bounds });
    expect(tooLong.windows[0]).toMatchObject({ boundMs: 47_000, passed: false });
    expect(tooLong.problems).toHaveLength(1);
  });

  /** `run` with a record of r1 (committed before it froze) published by another relay at 18.2 s. */
  const publishedLate = (run: { events: ProgressEvent[]; work: WorkItem[] }) => ({
    events: [...run.events, { atMs: 18_200, replica: R1 }].sort((a, b) => a.atMs - b.atMs),
    work: run.work,
  });

  it('lets the peers of another replica’s fault wait too while a frozen replica holds up a rebalance', () => {
    // Seed 9904: the broker restarts 10-18 s; r1 is frozen 14-40 s and cannot rejoin, so the group (r2 and
    // r3 too) waits for it; r2's PostgreSQL is slowed 13-22 s. A record r1 committed before it froze is
    // published by another relay just after the broker is back, so the restart's cover ends there, and
    // r2's window saw its peers (r1 frozen, r3 in the rebalance) idle for 23.5 s.
    const gaps = {
      [R1]: { from: 14_000, to: 42_000 },
      [R2]: { from: 18_500, to: 42_000 },
      [R3]: { from: 18_500, to: 42_000 },
    };
    const history = publishedLate(steady(0, 90_000, gaps));
    const frozen = pause(R1, 14_000, 40_000, 'SIGSTOP r1 holding row locks 26.0 s');
    const slowed: ProgressFault = {
      label: 'postgres +385 ms r2, 9.0 s',
      kind: 'net-latency',
      replica: R2,
      dependency: 'postgres',
      startMs: 13_000,
      endMs: 22_000,
    };
    const result = checkProgress({ ...history, faults: [slowed, frozen, brokerRestart], bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({
      judged: true,
      passed: true,
      boundMs: 47_000,
      heldUpBy: 'SIGSTOP r1 holding row locks 26.0 s',
    });
    expect(result.windows[0]?.stallMs).toBeGreaterThan(17_000);
    // Without the broker restart nobody rejoins: the latency window's peers had the peers' bound, and failed.
    const noRebalance = checkProgress({ ...history, faults: [slowed, frozen], bounds });
    expect(noRebalance.windows[0]).toMatchObject({ boundMs: 17_000, passed: false });
    expect(noRebalance.windows[0]).not.toHaveProperty('heldUpBy');
    // Past the frozen member's session timeout the group should have gone on without it: a violation.
    const stuck = checkProgress({
      ...publishedLate(
        steady(0, 120_000, {
          [R1]: { from: 14_000, to: 75_000 },
          [R2]: { from: 18_500, to: 75_000 },
          [R3]: { from: 18_500, to: 75_000 },
        }),
      ),
      faults: [slowed, frozen, brokerRestart],
      bounds,
    });
    expect(stuck.windows[0]).toMatchObject({ boundMs: 47_000, passed: false });
  });

  it('measures the stall again from the start of a second replica’s fault, which may hold locks of its own', () => {
    // r2 frozen at 10 s, r3 at 14 s; the only running peer waits for both until 29 s: 19 s after r2 froze,
    // 15 s after r3 did, within r3's bound.
    const frozen = (until: number) =>
      steady(0, 70_000, {
        [R1]: { from: 10_000, to: until },
        [R2]: { from: 10_000, to: until },
        [R3]: { from: 14_000, to: until },
      });
    const faults = [pause(R2, 10_000, 26_000, 'SIGSTOP r2'), pause(R3, 14_000, 30_000, 'SIGSTOP r3')];
    const correct = checkProgress({ ...frozen(29_000), faults, bounds });
    expect(correct.problems).toEqual([]);
    expect(correct.windows[0]).toMatchObject({ passed: true, restartedBy: ['SIGSTOP r3'], stallMs: 15_000 });
    // Without the session timeouts both keep their locks until they wake: 19 s after r3 froze.
    const stuck = checkProgress({ ...frozen(33_000), faults, bounds });
    expect(stuck.windows.map((w) => [w.passed, w.stallMs])).toEqual([
      [false, 19_000],
      [false, 19_000],
    ]);
  });

  it('leaves out the time during which every other replica was frozen itself', () => {
    // r1 and r3 frozen from 1 s and 1.5 s to 20 s (past the bound): nobody but r2 could run meanwhile.
    const history = steady(0, 60_000, {
      [R1]: { from: 1000, to: 20_000 },
      [R3]: { from: 1500, to: 20_000 },
    });
    const faults = [
      pause(R2, 0, 6000, 'SIGSTOP r2'),
      pause(R1, 1000, 20_000, 'SIGSTOP r1'),
      pause(R3, 1500, 20_000, 'SIGSTOP r3'),
    ];
    const result = checkProgress({ ...history, faults, bounds });
    expect(result.problems).toEqual([]);
    expect(result.windows[0]).toMatchObject({ judged: true, passed: true, judgedMs: 23_000 - 18_500 });
  });

  it('neither judges nor excuses anything for a fault that did nothing', () => {
    const history = steady(0, 60_000, {
      [R1]: { from: 10_000, to: 36_000 },
      [R2]: { from: 10_000, to: 36_000 },
      [R3]: { from: 10_000, to: 36_000 },
    });
    const idle: ProgressFault = {
      label: 'kafka-crash',
      kind: 'kafka-crash',
      startMs: 9000,
      endMs: 9001,
      skipped: 'no control of the broker',
    };
    const result = checkProgress({ ...history, faults: [idle, pause(R2, 10_000, 30_000)], bounds });
    expect(result.windows[0]).toMatchObject({
      judged: false,
      reason: 'the fault did nothing: no control of the broker',
    });
    expect(result.windows[1]).toMatchObject({ judged: true, passed: false });
  });

  it('does not judge a window whose target replica is unknown', () => {
    const history = steady(0, 60_000, {
      [R1]: { from: 10_000, to: 40_000 },
      [R2]: { from: 10_000, to: 40_000 },
      [R3]: { from: 10_000, to: 40_000 },
    });
    const unknown: ProgressFault = { label: 'something', kind: 'unknown', startMs: 10_000, endMs: 30_000 };
    const result = checkProgress({ ...history, faults: [unknown], bounds });
    expect(result.windows[0]).toMatchObject({ judged: false, reason: 'the target replica is unknown' });
    expect(result.problems).toEqual([]);
  });

  describe('per input partition', () => {
    /**
     * Texts every 100 ms over six partitions (`in/0` … `in/5`), partition n taken by replica n mod 3, each
     * resolved 50 ms after it could be, except the texts of `stuck` inside [from, to): resolved at `to`.
     */
    function partitioned(
      toMs: number,
      stuck?: { partition: string; from: number; to: number },
    ): { events: ProgressEvent[]; work: WorkItem[] } {
      const replicas = [R1, R2, R3];
      const events: ProgressEvent[] = [];
      const work: WorkItem[] = [];
      for (let at = 0, n = 0; at < toMs; at += 100, n += 1) {
        const partition = `in/${n % 6}`;
        const replica = replicas[(n % 6) % 3] as string;
        let resolvedAtMs = at + 50;
        if (stuck?.partition === partition && resolvedAtMs >= stuck.from && resolvedAtMs < stuck.to) {
          resolvedAtMs = stuck.to;
        }
        events.push({ atMs: resolvedAtMs, replica, partition });
        work.push({ key: `b/t${n}`, resolvableAtMs: at, resolvedAtMs, resolvedBy: replica, partition });
      }
      return { events: events.sort((a, b) => a.atMs - b.atMs), work };
    }

    it('fails a pause during which one partition of a peer waited past the bound, while the peers went on elsewhere', () => {
      // r1 frozen 10-32 s holding a batch's counter row; r3's transaction on in/2 waits for it throughout.
      const history = partitioned(60_000, { partition: 'in/2', from: 10_000, to: 32_000 });
      const result = checkProgress({ ...history, faults: [pause(R1, 10_000, 32_000)], bounds });
      const [window] = result.windows;
      expect(window).toMatchObject({ judged: true, passed: false, stalledPartition: 'in/2' });
      // The peers as a whole kept resolving texts: only the partition shows the stall.
      expect(window?.stallMs).toBeLessThan(1000);
      // From the first text on in/2 after its last resolution (sent at 10.4 s; in/2 has a text every 600 ms).
      expect(window?.partitionStallMs).toBe(21_600);
      expect(result.problems).toEqual([
        expect.stringMatching(
          /input partition in\/2 of a replica other than .*r1 resolved nothing for 21600 ms/,
        ),
      ]);
    });

    it('passes a partition that waited less than the bound, and does not count the paused replica’s own', () => {
      // in/0 and in/3 are r1's: they wait the whole pause. r3's in/2 waits from 10.4 s to 16 s (the paused
      // replica's session was ended).
      const history = partitioned(60_000, { partition: 'in/2', from: 10_000, to: 16_000 });
      const own = history.work.map((item) =>
        item.resolvedBy === R1 && item.resolvableAtMs >= 10_000 && item.resolvableAtMs < 32_000
          ? { ...item, resolvedAtMs: 32_000 }
          : item,
      );
      const result = checkProgress({
        events: history.events,
        work: own,
        faults: [pause(R1, 10_000, 32_000)],
        bounds,
      });
      expect(result.windows[0]).toMatchObject({
        passed: true,
        partitionStallMs: 5600,
        stalledPartition: 'in/2',
      });
    });

    it('leaves out the time of another replica’s fault: that replica’s partitions wait for it by design', () => {
      // r3 (owner of in/2) is cut off from PostgreSQL 12-30 s while r1 is paused 10-32 s.
      const history = partitioned(60_000, { partition: 'in/2', from: 12_000, to: 30_000 });
      const cut: ProgressFault = {
        label: 'postgres partition r3',
        kind: 'net-blackhole',
        replica: R3,
        startMs: 12_000,
        endMs: 30_000,
      };
      const result = checkProgress({ ...history, faults: [pause(R1, 10_000, 32_000), cut], bounds });
      expect(result.windows[0]).toMatchObject({ passed: true });
      expect(result.windows[0]?.partitionStallMs ?? 0).toBeLessThan(17_000);
    });
  });
});
