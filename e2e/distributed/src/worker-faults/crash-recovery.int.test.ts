import { TOPICS } from '@els/contracts';
import { committedOffsets, endOffsets } from '../harness/kafka-probe';
import {
  assignedCount,
  cleanOutcome,
  collectOutcome,
  planFullBatch,
  sendRegistration,
  sendTexts,
  waitAssigned,
} from './batch-outcome';
import { openWorkerFixture, type WorkerFixture } from './worker-fixture';

const SLOTS = 60;

/** Messages on a topic not yet covered by the group's committed offsets. */
async function uncommitted(fixture: WorkerFixture): Promise<number> {
  const topic = fixture.topic(TOPICS.essayContentProvisioned);
  const [ends, committed] = await Promise.all([
    endOffsets(fixture.kafka, topic),
    committedOffsets(fixture.kafka, fixture.consumerGroup, topic),
  ]);
  let behind = 0;
  for (const [partition, end] of ends) behind += end - Math.max(0, committed.get(partition) ?? 0);
  return behind;
}

describe('a worker killed with SIGKILL mid-stream', () => {
  let fixture: WorkerFixture;

  beforeAll(async () => {
    fixture = await openWorkerFixture('sigkill');
  }, 180_000);

  afterAll(async () => {
    await fixture?.close();
  }, 60_000);

  it('after a restart has assigned every text exactly once, announced each slot once and completed once', async () => {
    const batch = planFullBatch('sigkill', SLOTS);
    await sendRegistration(fixture, batch);
    const sending = sendTexts(fixture, batch, batch.texts, 15);

    await waitAssigned(fixture, batch.batchId, 8, 60_000);
    const firstPid = fixture.cluster.replicas[0]?.pid;
    await fixture.cluster.kill(0);
    const assignedAtKill = await assignedCount(fixture, batch.batchId);
    const uncommittedAtKill = await uncommitted(fixture);
    expect(assignedAtKill).toBeLessThan(SLOTS);

    await sending;
    await fixture.cluster.restart(0);
    expect(fixture.cluster.replicas[0]?.pid).not.toBe(firstPid);

    const outcome = await collectOutcome(fixture, batch);
    expect(outcome).toEqual(cleanOutcome(SLOTS));
    // The restarted process re-read at least the messages it had not committed (redelivery happened).
    expect(uncommittedAtKill).toBeGreaterThan(0);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});
