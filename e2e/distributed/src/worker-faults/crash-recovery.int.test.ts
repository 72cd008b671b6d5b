import { TOPICS } from '@els/contracts';
import { uncommittedMessages } from '@els/harness';
import {
  assignedCount,
  cleanOutcome,
  collectOutcome,
  planFullBatch,
  sendRegistration,
  sendTexts,
  waitAssigned,
} from './batch-outcome';
import { useWorkerFixture } from './worker-fixture';

const SLOTS = 60;

describe('a worker killed with SIGKILL mid-stream', () => {
  const openFixture = useWorkerFixture('sigkill');

  it('after a restart has assigned every text exactly once, announced each slot once and completed once', async () => {
    const fixture = openFixture();
    const batch = planFullBatch('sigkill', SLOTS);
    await sendRegistration(fixture, batch);
    const sending = sendTexts(fixture, batch, batch.texts, 15);

    await waitAssigned(fixture, batch.batchId, 8, 60_000);
    const firstPid = fixture.cluster.replicas[0]?.pid;
    await fixture.cluster.kill(0);
    const assignedAtKill = await assignedCount(fixture, batch.batchId);
    const uncommittedAtKill = await uncommittedMessages(
      fixture.kafka,
      fixture.consumerGroup,
      fixture.topic(TOPICS.essayContentProvisioned),
    );
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
