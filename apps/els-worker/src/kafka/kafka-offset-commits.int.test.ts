import { randomUUID } from 'node:crypto';
import { silentLogger } from '../logger';
import { createKafkaClient } from './kafka-client';

const brokers = [process.env.ELS_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092'];
const PARTITIONS = 6;

/**
 * One record on each of the topic's partitions, consumed with every partition's batch in flight at once:
 * each handler waits until all batches have arrived (as the worker's group commit makes them wait for one
 * database transaction), then resolves its offset and returns together with the others.
 */
async function consumeTogether(): Promise<{ offsetCommits: number; committed: string[] }> {
  const kafka = createKafkaClient({ brokers, clientId: 'offset-commits', logger: silentLogger });
  const topic = `els-test-offset-commits-${randomUUID()}`;
  const groupId = `${topic}-group`;
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
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
    let resolvedBatches = 0;
    let finish: () => void = () => undefined;
    const allResolved = new Promise<void>((resolve) => (finish = resolve));
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
        resolveOffset(batch.lastOffset());
        resolvedBatches += 1;
        if (resolvedBatches === PARTITIONS) finish();
      },
    });
    await allResolved;
    // The commits that follow the batches, then whatever a stop commits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await consumer.disconnect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return {
      offsetCommits,
      committed: (offsets?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset),
    };
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
    const { offsetCommits, committed } = await consumeTogether();
    expect(committed).toEqual(Array.from({ length: PARTITIONS }, () => '1'));
    expect(offsetCommits).toBeGreaterThanOrEqual(1);
    expect(offsetCommits).toBeLessThanOrEqual(2);
  }, 60_000);
});
