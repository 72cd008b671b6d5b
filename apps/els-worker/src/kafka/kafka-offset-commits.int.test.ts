import { randomUUID } from 'node:crypto';
import { TEST_KAFKA_BROKERS, waitFor } from '@els/test-kit';
import { silentLogger } from '../logger';
import { createKafkaClient } from './kafka-client';

const PARTITIONS = 6;
const ALL_COMMITTED = Array.from({ length: PARTITIONS }, () => '1');

/**
 * One record on each of the topic's partitions, consumed with every partition's batch in flight at once:
 * each handler waits until all batches have arrived (as the worker's group commit makes them wait for one
 * database transaction), then resolves its offset and returns. `staggered`: the second half resolves only
 * after the first half has returned, so while the commit that the first half started is in flight.
 * Returns the OffsetCommit requests sent, and the committed offsets as read back while the consumer still
 * runs (so nothing a stop commits can stand in for them).
 */
async function consume(staggered: boolean): Promise<{ offsetCommits: number; committed: string[] }> {
  const kafka = createKafkaClient({
    brokers: [...TEST_KAFKA_BROKERS],
    clientId: 'offset-commits',
    logger: silentLogger,
  });
  const topic = `els-test-offset-commits-${randomUUID()}`;
  const groupId = `${topic}-group`;
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const committedOffsets = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
  };
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, value: `r${partition}` })),
    });
    let offsetCommits = 0;
    consumer.on(consumer.events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'OffsetCommit') offsetCommits += 1;
    });
    let arrived = 0;
    let releaseAll: () => void = () => undefined;
    const allArrived = new Promise<void>((resolve) => (releaseAll = resolve));
    let resolved = 0;
    let releaseSecondHalf: () => void = () => undefined;
    const secondHalf = new Promise<void>((resolve) => (releaseSecondHalf = resolve));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatch: async ({ batch, resolveOffset }) => {
        arrived += 1;
        if (arrived === PARTITIONS) releaseAll();
        await allArrived;
        if (staggered && batch.partition >= PARTITIONS / 2) await secondHalf;
        resolveOffset(batch.lastOffset());
        resolved += 1;
        // After the first half's batches have returned and their commit has been sent.
        if (resolved === PARTITIONS / 2) setImmediate(releaseSecondHalf);
      },
    });
    const committed = await waitFor(
      'every offset committed',
      async () => {
        const offsets = await committedOffsets();
        return offsets.join() === ALL_COMMITTED.join() ? offsets : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    await consumer.disconnect();
    return { offsetCommits, committed };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

describe('kafkajs offset commits (docs/adr/0005-kafkajs-offset-commit-coalescing.md)', () => {
  it('sends one or two OffsetCommit requests for batches that end together, and commits every offset', async () => {
    // Unpatched, kafkajs 2.2.4 commits after each partition's batch: six requests here, each carrying
    // every resolved offset, answered one after another by the broker.
    const { offsetCommits, committed } = await consume(false);
    expect(committed).toEqual(ALL_COMMITTED);
    expect(offsetCommits).toBeGreaterThanOrEqual(1);
    expect(offsetCommits).toBeLessThanOrEqual(2);
  }, 60_000);

  it('commits the offsets resolved while a commit is in flight with the next one, not at the stop', async () => {
    // Late callers share the follow-up commit; were they handed the commit in flight instead, their
    // offsets would stay uncommitted until the next commit, here the stop.
    const { offsetCommits, committed } = await consume(true);
    expect(committed).toEqual(ALL_COMMITTED);
    expect(offsetCommits).toBeLessThanOrEqual(2);
  }, 60_000);
});
