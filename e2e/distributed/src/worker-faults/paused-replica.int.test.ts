import { deterministicEventId, TOPICS } from '@els/contracts';
import { makeContent, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { randomUUID } from 'node:crypto';
import { committedOffsets, OUTPUT, uncommittedMessages } from '@els/harness';
import { planFullBatch, sendRegistration, waitAssigned, type FullBatch } from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

/**
 * One replica of three is frozen (SIGSTOP) in the middle of a database transaction, for longer than the
 * consumer session timeout, while texts for a few shared batches keep arriving. Its session holds slot row
 * locks the others need once the free slots of a batch are all locked (they wait for those instead of
 * reporting excess, invariant 2): the session timeouts must end that transaction so the two healthy
 * replicas keep assigning (invariant 11).
 *
 * `E2E_SESSION_TIMEOUTS=off` runs the same scenario with every session and relay timeout set to its
 * maximum (ten minutes), which is how the worker behaved before they existed: the test then fails.
 */
const TIMEOUTS_OFF = process.env['E2E_SESSION_TIMEOUTS'] === 'off';
const NO_TIMEOUTS: Record<string, string> = {
  ELS_DB_STATEMENT_TIMEOUT_MS: '600000',
  ELS_DB_LOCK_TIMEOUT_MS: '600000',
  ELS_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: '600000',
  ELS_RELAY_PUBLISH_TIMEOUT_MS: '600000',
};

const BATCHES = 3;
// 1,200 texts at 25/s: the load lasts past the end of the pause, so every window has texts to assign.
const SLOTS = 400;
const SEND_PER_S = 25;
const WARM_UP_MS = 6000;
/** Longer than the consumer session timeout (30 s): the coordinator evicts the frozen member meanwhile. */
const PAUSE_MS = 35_000;
const WINDOW_MS = 5000;
const FROZEN = 2;

interface Sample {
  atMs: number;
  assigned: number;
}

/** Sends every text of the batches round-robin at a steady pace, each with a random key. */
async function sendSteadily(fixture: WorkerFixture, batches: readonly FullBatch[]): Promise<void> {
  const texts = batches[0]?.texts.flatMap((_, i) => batches.map((b) => [b.batchId, b.texts[i] ?? ''])) ?? [];
  const startedAt = Date.now();
  for (let i = 0; i < texts.length; i++) {
    const [batchId, textStorageId] = texts[i] as [string, string];
    const dueAt = startedAt + (i * 1000) / SEND_PER_S;
    const waitMs = dueAt - Date.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    const event = makeContent({ batchId, textStorageId });
    await fixture.send(TOPICS.essayContentProvisioned, [{ key: randomUUID(), value: toWire(event) }]);
  }
}

/** Samples the assigned slots of the batches and the group's committed offsets until stopped. */
function startSampling(fixture: WorkerFixture, batchIds: readonly string[]) {
  const samples: Sample[] = [];
  const offsetsWentBack: string[] = [];
  const highest = new Map<number, number>();
  let running = true;
  const topic = fixture.topic(TOPICS.essayContentProvisioned);
  const assigned = async () => {
    const [row] = await fixture.db.sql<{ n: number }[]>`
      select count(*)::int as n from essay_states
      where batch_id = any(${batchIds as string[]}) and text_storage_id is not null`;
    return row?.n ?? 0;
  };
  const assignments = (async () => {
    while (running) {
      samples.push({ atMs: Date.now(), assigned: await assigned() });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  const offsets = (async () => {
    while (running) {
      const committed = await committedOffsets(fixture.kafka, fixture.consumerGroup, topic).catch(
        () => new Map<number, number>(),
      );
      for (const [partition, offset] of committed) {
        if (offset < 0) continue;
        const before = highest.get(partition) ?? -1;
        if (offset < before) offsetsWentBack.push(`partition ${partition}: ${before} -> ${offset}`);
        highest.set(partition, Math.max(before, offset));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return {
    samples,
    offsetsWentBack,
    async stop() {
      running = false;
      await Promise.all([assignments, offsets]);
    },
    /** Assignments per second between two instants, from the samples around them. */
    rate(fromMs: number, toMs: number): number {
      return (countAt(toMs) - countAt(fromMs)) / ((toMs - fromMs) / 1000);
    },
    countAt,
  };
  function countAt(atMs: number): number {
    let count = 0;
    for (const sample of samples) if (sample.atMs <= atMs) count = sample.assigned;
    return count;
  }
}

/**
 * Freezes the replica while one of its sessions is inside a content transaction at its outbox insert (or
 * a completion latch): it then holds the slots it claimed, which the others pass over with SKIP LOCKED
 * until they are a batch's last free slots and then wait for. Stop, look at its sessions, and let it go
 * on for a moment when it was elsewhere.
 */
async function freezeMidTransaction(fixture: WorkerFixture, index: number): Promise<string | undefined> {
  const applicationName = `els-worker-${fixture.cluster.replicas[index]?.instanceId ?? ''}`;
  for (let attempt = 0; attempt < 400; attempt++) {
    fixture.cluster.pause(index);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const [held] = await fixture.db.sql<{ query: string }[]>`
      select query from pg_stat_activity
      where application_name = ${applicationName} and state = 'idle in transaction'
        and backend_xid is not null
        and (query like '%from batches%for update%' or query like '%update batches%'
             or query like '%insert into outbox%')
      limit 1`;
    if (held) return held.query;
    fixture.cluster.resume(index);
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 40));
  }
  fixture.cluster.pause(index);
  return undefined;
}

interface PauseRun {
  batches: FullBatch[];
  beforeRate: number;
  duringRate: number;
  windows: number[];
  heldQuery: string | undefined;
  offsetsWentBack: string[];
}

/** Runs load on fresh batches, freezes one replica mid-transaction for PAUSE_MS, then calls `end`. */
async function runPause(fixture: WorkerFixture, label: string, end: () => Promise<void>): Promise<PauseRun> {
  const batches = Array.from({ length: BATCHES }, () => planFullBatch(label, SLOTS));
  for (const batch of batches) await sendRegistration(fixture, batch);
  const sampler = startSampling(
    fixture,
    batches.map((b) => b.batchId),
  );
  const sending = sendSteadily(fixture, batches);
  try {
    const loadStartedAt = Date.now();
    await waitFor('assignments under way', () => sampler.countAt(Date.now()) > 0, { timeoutMs: 30_000 });
    const warmUpLeft = WARM_UP_MS - (Date.now() - loadStartedAt);
    if (warmUpLeft > 0) await new Promise((resolve) => setTimeout(resolve, warmUpLeft));
    const heldQuery = await freezeMidTransaction(fixture, FROZEN);
    const pausedAt = Date.now();
    const beforeRate = sampler.rate(pausedAt - WARM_UP_MS / 2, pausedAt);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    const pauseEnd = Date.now();
    await end();
    await sending;
    for (const batch of batches) await waitAssigned(fixture, batch.batchId, SLOTS, 90_000);
    // After the first 10 s (lock timeout, idle-in-transaction timeout, retry backoff), every window counts.
    const windows: number[] = [];
    for (let from = pausedAt + 10_000; from + WINDOW_MS <= pauseEnd; from += WINDOW_MS)
      windows.push(sampler.countAt(from + WINDOW_MS) - sampler.countAt(from));
    const duringRate = sampler.rate(pausedAt + 10_000, pauseEnd);
    await sampler.stop();
    const run = {
      batches,
      beforeRate,
      duringRate,
      windows,
      heldQuery,
      offsetsWentBack: sampler.offsetsWentBack,
    };
    process.stdout.write(
      `paused-replica ${label}${TIMEOUTS_OFF ? ' (timeouts off)' : ''}: ${JSON.stringify({
        beforeRate,
        duringRate,
        windows,
        heldQuery: heldQuery?.replace(/\s+/g, ' ').slice(0, 80),
      })}\n`,
    );
    return run;
  } finally {
    await sampler.stop();
    await sending.catch(() => undefined);
  }
}

/** Completions and slot announcements of these batches on the wire, checked record by record. */
async function checkOutputs(fixture: WorkerFixture, batches: readonly FullBatch[]) {
  const ids = new Set(batches.map((b) => b.batchId));
  const dataOf = (value: Record<string, unknown> | undefined) =>
    (value?.['data'] ?? {}) as Record<string, unknown>;
  const ofBatches = (topic: (typeof OUTPUT)[keyof typeof OUTPUT]) =>
    fixture.collector.of(topic).filter((m) => ids.has(String(dataOf(m.value)['batch_id'])));
  await waitFor(
    'one completion record per batch',
    () => new Set(ofBatches(OUTPUT.completed).map((m) => dataOf(m.value)['batch_id'])).size === ids.size,
    { timeoutMs: 60_000 },
  );
  await waitFor(
    'every slot announced',
    () =>
      new Set(ofBatches(OUTPUT.assigned).map((m) => String(m.value?.['event_id']))).size === BATCHES * SLOTS,
    { timeoutMs: 60_000 },
  );
  const wrongIds: string[] = [];
  const idsPerEssay = new Map<string, Set<string>>();
  for (const message of ofBatches(OUTPUT.assigned)) {
    const data = dataOf(message.value);
    const expected = deterministicEventId('EssaySlotAssignedV1', [
      String(data['batch_id']),
      String(data['essay_id']),
    ]);
    const eventId = String(message.value?.['event_id']);
    if (eventId !== expected) wrongIds.push(eventId);
    const key = `${String(data['batch_id'])}/${String(data['essay_id'])}`;
    idsPerEssay.set(key, (idsPerEssay.get(key) ?? new Set()).add(eventId));
  }
  const completionIds = new Map<string, Set<string>>();
  for (const message of ofBatches(OUTPUT.completed)) {
    const batchId = String(dataOf(message.value)['batch_id']);
    const eventId = String(message.value?.['event_id']);
    if (eventId !== deterministicEventId('BatchContentProvisioningCompletedV1', [batchId]))
      wrongIds.push(eventId);
    completionIds.set(batchId, (completionIds.get(batchId) ?? new Set()).add(eventId));
  }
  const held = await fixture.db.sql<{ batch_id: string; text_storage_id: string; n: number }[]>`
    select batch_id, text_storage_id, count(*)::int as n from essay_states
    where batch_id = any(${[...ids]}) and text_storage_id is not null group by 1, 2`;
  const heldTexts = new Set(held.map((r) => `${r.batch_id}/${r.text_storage_id}`));
  return {
    lostTexts: batches.flatMap((b) => b.texts.filter((t) => !heldTexts.has(`${b.batchId}/${t}`))),
    textsHeldTwice: held.filter((r) => r.n > 1).length,
    wrongEventIds: wrongIds.length,
    essaysWithTwoEventIds: [...idsPerEssay.values()].filter((s) => s.size > 1).length,
    completionIdsPerBatch: [...completionIds.values()].map((s) => s.size),
    excess: fixture.collector.of(OUTPUT.excess).filter((m) => ids.has(String(dataOf(m.value)['batch_id'])))
      .length,
  };
}

function expectProgressDuringPause(run: PauseRun): void {
  expect(run.heldQuery).toBeDefined();
  expect(run.beforeRate).toBeGreaterThan(5);
  // The frozen replica's partitions wait for the rebalance; the other two keep up with theirs.
  expect(run.duringRate).toBeGreaterThanOrEqual(run.beforeRate * 0.3);
  expect(run.windows.length).toBeGreaterThanOrEqual(4);
  for (const count of run.windows) expect(count).toBeGreaterThan(0);
  expect(run.offsetsWentBack).toEqual([]);
}

const cleanOutputs = {
  lostTexts: [],
  textsHeldTwice: 0,
  wrongEventIds: 0,
  essaysWithTwoEventIds: 0,
  completionIdsPerBatch: Array.from({ length: BATCHES }, () => 1),
  excess: 0,
};

describe('a replica frozen mid-transaction for longer than the session timeout', () => {
  const openFixture = useWorkerFixture('paused', {
    replicas: 3,
    env: TIMEOUTS_OFF ? NO_TIMEOUTS : {},
  });

  it('does not stall the other two, and when it resumes commits no stale offset and publishes no new event id', async () => {
    const fixture = openFixture();
    const run = await runPause(fixture, 'resumed', async () => fixture.cluster.resume(FROZEN));
    expectProgressDuringPause(run);
    expect(await checkOutputs(fixture, run.batches)).toEqual(cleanOutputs);
    await waitFor(
      'every consumed text committed',
      async () =>
        (await uncommittedMessages(
          fixture.kafka,
          fixture.consumerGroup,
          fixture.topic(TOPICS.essayContentProvisioned),
        )) === 0,
      { timeoutMs: 60_000 },
    );
    await fixture.cluster.waitReady(FROZEN, 60_000);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 150_000);

  it('does not stall the other two when it never resumes (killed at the end), and every batch completes once', async () => {
    const fixture = openFixture();
    const run = await runPause(fixture, 'killed', () => fixture.cluster.kill(FROZEN));
    expectProgressDuringPause(run);
    expect(await checkOutputs(fixture, run.batches)).toEqual(cleanOutputs);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 150_000);
});
