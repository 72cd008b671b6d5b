// One measured phase of the Kafka client comparison, in its own process so that its CPU time is its own:
//   tsx client-phase.ts <kafkajs|platformatic> <produce|consume> <topic> <records> <group>
// Prints one JSON line: { cpuMs, wallMs, records }. The patterns are the worker's: the relay's batched,
// idempotent produce with acks=all; the consumer group's fetch → process → commit of the processed offsets.
import { Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { recordBatches } from './client-records';

type Library = 'kafkajs' | 'platformatic';
type Phase = 'produce' | 'consume';

const [library, phase, topic, countText, group] = process.argv.slice(2) as [
  Library,
  Phase,
  string,
  string,
  string,
];
const records = Number(countText);
const brokers = (process.env['ELS_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

interface Measured {
  cpuMs: number;
  wallMs: number;
  records: number;
}

async function measure(work: () => Promise<number>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const done = await work();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started, records: done };
}

async function kafkajsProduce(): Promise<Measured> {
  const kafka = new Kafka({ clientId: 'client-bench', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    return await measure(async () => {
      for (const messages of recordBatches(records)) {
        await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
      }
      return records;
    });
  } finally {
    await producer.disconnect();
  }
}

async function platformaticProduce(): Promise<Measured> {
  const producer = new Producer({ clientId: 'client-bench', bootstrapBrokers: brokers, idempotent: true });
  try {
    return await measure(async () => {
      for (const batch of recordBatches(records)) {
        const messages = batch.map((record) => ({
          topic,
          key: record.key,
          value: record.value,
          headers: new Map(Object.entries(record.headers).map(([k, v]) => [Buffer.from(k), v])),
        }));
        await producer.send({ messages, acks: ProduceAcks.ALL });
      }
      return records;
    });
  } finally {
    await producer.close();
  }
}

/** The worker's consumer: eachBatch, resolve each processed offset, commit at the end of the batch. */
async function kafkajsConsume(): Promise<Measured> {
  const kafka = new Kafka({ clientId: 'client-bench', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 1000, sessionTimeout: 30_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let bytes = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  try {
    return await measure(async () => {
      await consumer.run({
        autoCommit: true,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 12,
        eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
          for (const message of batch.messages) {
            bytes += message.value?.length ?? 0;
            resolveOffset(message.offset);
            seen += 1;
          }
          await commitOffsetsIfNecessary();
          if (seen >= records) finish();
        },
      });
      await finished;
      return bytes > 0 ? seen : 0;
    });
  } finally {
    await consumer.disconnect();
  }
}

/** The same with @platformatic/kafka's stream: the offsets seen in one turn of the event loop are committed together. */
async function platformaticConsume(): Promise<Measured> {
  const consumer = new Consumer({
    clientId: 'client-bench',
    bootstrapBrokers: brokers,
    groupId: group,
    maxWaitTime: 1000,
    sessionTimeout: 30_000,
    autocommit: false,
  });
  let seen = 0;
  let bytes = 0;
  const pending = new Map<number, bigint>();
  let committing: Promise<void> = Promise.resolve();
  let scheduled = false;
  const commitPending = () => {
    scheduled = false;
    const offsets = [...pending].map(([partition, offset]) => ({
      topic,
      partition,
      offset,
      leaderEpoch: -1,
    }));
    pending.clear();
    committing = committing.then(() => consumer.commit({ offsets }));
  };
  try {
    return await measure(async () => {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', (message) => {
          bytes += message.value?.length ?? 0;
          pending.set(message.partition, message.offset + 1n);
          seen += 1;
          if (!scheduled) {
            scheduled = true;
            setImmediate(commitPending);
          }
          if (seen >= records) resolve();
        });
      });
      commitPending();
      await committing;
      await stream.close();
      return bytes > 0 ? seen : 0;
    });
  } finally {
    await consumer.close(true);
  }
}

const phases: Record<Library, Record<Phase, () => Promise<Measured>>> = {
  kafkajs: { produce: kafkajsProduce, consume: kafkajsConsume },
  platformatic: { produce: platformaticProduce, consume: platformaticConsume },
};

phases[library][phase]()
  .then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
