import { settledMetadata } from './topic-admin';

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
