import fs from 'node:fs';
import { waitFor } from '@els/test-kit';
import { type ReplicaExit, stackFaults } from '@els/harness';
import {
  cleanOutcome,
  collectOutcome,
  planFullBatch,
  sendRegistration,
  sendTexts,
  startFullBatch,
  waitAssigned,
  type FullBatch,
} from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

/**
 * SIGTERM while Kafka or PostgreSQL is unreachable: the worker exits within ELS_SHUTDOWN_GRACE_MS with
 * exit code 3 (stopped, work left uncommitted or a part that could not stop; docs/guides/operate.md), and
 * what it had not committed is redelivered to the next worker once the service is back.
 * These tests stop shared services: run them alone (flock -x on the stack lock).
 */
const GRACE_MS = 8000;
const EXIT_STOPPED_INCOMPLETE = 3;
const SLOTS = 20;
const FIRST = 5;

/** Bytes of the replica's log written from `offset` on. */
function logSince(fixture: WorkerFixture, offset: number): string {
  const file = fixture.cluster.replicas[0]?.logFile ?? '';
  const text = fs.readFileSync(file, 'utf8');
  return text.slice(offset);
}

function logSize(fixture: WorkerFixture): number {
  return fs.statSync(fixture.cluster.replicas[0]?.logFile ?? '').size;
}

async function expectEverythingAssigned(fixture: WorkerFixture, batch: FullBatch): Promise<void> {
  await fixture.cluster.restart(0);
  await waitAssigned(fixture, batch.batchId, SLOTS, 90_000);
  expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
}

/** The stop ended within the grace period with exit 3, and a new worker processed what it left. */
async function expectStoppedIncompleteThenRecovered(
  fixture: WorkerFixture,
  batch: FullBatch,
  exit: ReplicaExit | undefined,
): Promise<void> {
  expect(exit?.signal).toBeNull();
  expect(exit?.code).toBe(EXIT_STOPPED_INCOMPLETE);
  expect(exit?.durationMs).toBeLessThanOrEqual(GRACE_MS + 500);
  await expectEverythingAssigned(fixture, batch);
  expect(fixture.cluster.unexpectedExits()).toEqual([]);
}

describe('SIGTERM while the Kafka broker is stopped', () => {
  const openFixture = useWorkerFixture('stop-no-kafka', {
    env: { ELS_SHUTDOWN_GRACE_MS: String(GRACE_MS) },
    restore: () => stackFaults.startKafka(),
  });

  it('exits within the grace period with code 3, and a new worker processes what was left once the broker is back', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'stop-no-kafka', SLOTS, FIRST);
    // The rest arrives and is handled, but the broker is gone before the offsets and outbox get out.
    await sendTexts(fixture, batch, batch.texts.slice(FIRST));
    await waitAssigned(fixture, batch.batchId, FIRST + 1, 30_000);
    let exit: ReplicaExit | undefined;
    await stackFaults.stopKafka();
    try {
      exit = await fixture.cluster.terminate(0, GRACE_MS * 3);
    } finally {
      await stackFaults.startKafka();
    }
    await expectStoppedIncompleteThenRecovered(fixture, batch, exit);
  }, 240_000);

  it('a worker started while the broker is down waits for it instead of exiting, and works once it is back', async () => {
    const fixture = openFixture();
    expect((await fixture.cluster.terminate(0, GRACE_MS * 3)).code).toBe(0);
    const batch = planFullBatch('start-no-kafka', SLOTS);
    const offset = logSize(fixture);
    let started: Promise<void> | undefined;
    await stackFaults.stopKafka();
    try {
      started = fixture.cluster.start();
      started.catch(() => undefined);
      await waitFor(
        'the starting worker to wait for the broker',
        () => logSince(fixture, offset).includes('Waiting for the Kafka broker'),
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      expect(fixture.cluster.replicas[0]?.state).toBe('running');
    } finally {
      await stackFaults.startKafka();
    }
    await started;
    await sendRegistration(fixture, batch);
    await sendTexts(fixture, batch, batch.texts);
    await waitAssigned(fixture, batch.batchId, SLOTS, 90_000);
    expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});

describe('SIGTERM while PostgreSQL is stopped', () => {
  const openFixture = useWorkerFixture('stop-no-pg', {
    env: { ELS_SHUTDOWN_GRACE_MS: String(GRACE_MS) },
    restore: () => stackFaults.startPostgres(),
  });

  it('exits within the grace period with code 3, leaving the texts it was retrying for the next worker', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'stop-no-pg', SLOTS, FIRST);
    let exit: ReplicaExit | undefined;
    await stackFaults.stopPostgres();
    try {
      const offset = logSize(fixture);
      await sendTexts(fixture, batch, batch.texts.slice(FIRST));
      await waitFor(
        'the worker retrying the texts against the stopped database',
        () => logSince(fixture, offset).includes('Retrying after a retriable failure'),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      exit = await fixture.cluster.terminate(0, GRACE_MS * 3);
    } finally {
      await stackFaults.startPostgres();
    }
    await expectStoppedIncompleteThenRecovered(fixture, batch, exit);
  }, 240_000);
});

describe('SIGTERM with every dependency up', () => {
  const openFixture = useWorkerFixture('stop-clean', { env: { ELS_SHUTDOWN_GRACE_MS: String(GRACE_MS) } });

  it('exits 0 once every text it took was committed', async () => {
    const fixture = openFixture();
    const batch = await startFullBatch(fixture, 'stop-clean', SLOTS, SLOTS);
    const exit = await fixture.cluster.terminate(0, GRACE_MS * 3);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.durationMs).toBeLessThanOrEqual(GRACE_MS);
    // The relay flush published what the last transactions wrote: no other worker is needed for it.
    expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
  }, 240_000);
});
