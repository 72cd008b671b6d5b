import { settledMetadata, whileRetriable } from './topic-admin';

type Metadata = {
  topics: Array<{ name: string; partitions: Array<{ partitionId: number; leader: number }> }>;
};

/** A broker's metadata answers in turn: an error to throw, or the metadata to return. */
function adminAnswering(answers: Array<Error | Metadata>) {
  let calls = 0;
  return {
    calls: () => calls,
    admin: {
      fetchTopicMetadata: async () => {
        const answer = answers[Math.min(calls, answers.length - 1)] as Error | Metadata;
        calls += 1;
        if (answer instanceof Error) throw answer;
        return answer as never;
      },
    },
  };
}

/** What kafkajs throws for it (a KafkaJSProtocolError: type, code, retriable). */
const unknownTopic = () =>
  Object.assign(new Error('This server does not host this topic-partition'), {
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
    code: 3,
    retriable: true,
  });
const topic = (name: string, leader: number) => ({ name, partitions: [{ partitionId: 0, leader }] });

describe('settledMetadata (topic metadata right after creating the topics)', () => {
  it('waits out a topic the broker does not know yet and a partition without a leader', async () => {
    const broker = adminAnswering([
      unknownTopic(),
      { topics: [topic('a', -1)] },
      { topics: [topic('a', 1)] },
    ]);
    const metadata = await settledMetadata(broker.admin, ['a'], 5000);
    expect(metadata.topics[0]?.partitions[0]?.leader).toBe(1);
    expect(broker.calls()).toBe(3);
  });

  it('throws a non-retriable error at once', async () => {
    const broker = adminAnswering([new Error('authorization failed')]);
    await expect(settledMetadata(broker.admin, ['a'], 5000)).rejects.toThrow('authorization failed');
    expect(broker.calls()).toBe(1);
  });

  it('gives up after its timeout, naming the last answer', async () => {
    const broker = adminAnswering([unknownTopic()]);
    await expect(settledMetadata(broker.admin, ['a'], 300)).rejects.toThrow(
      /did not settle within 300 ms: This server does not host this topic-partition/,
    );
  });
});

/** What kafkajs throws when a partition's leader has not taken leadership yet. */
const notLeader = () =>
  Object.assign(new Error('This server is not the leader for that topic-partition'), {
    type: 'NOT_LEADER_FOR_PARTITION',
    code: 6,
    retriable: true,
  });

describe('whileRetriable (admin reads refused for a moment)', () => {
  function answering<T>(answers: Array<Error | T>) {
    let calls = 0;
    return {
      calls: () => calls,
      read: async (): Promise<T> => {
        const answer = answers[Math.min(calls, answers.length - 1)] as Error | T;
        calls += 1;
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
  }

  it('waits out retriable refusals and returns the answer', async () => {
    const broker = answering([notLeader(), notLeader(), 'offsets']);
    await expect(whileRetriable('end offsets', broker.read, 5000)).resolves.toBe('offsets');
    expect(broker.calls()).toBe(3);
  });

  it('throws a non-retriable error at once', async () => {
    const broker = answering<string>([new Error('authorization failed')]);
    await expect(whileRetriable('end offsets', broker.read, 5000)).rejects.toThrow('authorization failed');
    expect(broker.calls()).toBe(1);
  });

  it('gives up after its timeout, naming what it read and the last refusal', async () => {
    const broker = answering<string>([notLeader()]);
    await expect(whileRetriable('end offsets of t', broker.read, 300)).rejects.toThrow(
      /end offsets of t still refused after 300 ms: This server is not the leader/,
    );
    expect(broker.calls()).toBeGreaterThan(1);
  });
});
