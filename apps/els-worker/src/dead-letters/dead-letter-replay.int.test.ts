import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '@els/coordination';
import { INPUT_TOPICS, TOPICS, topicName } from '@els/contracts';
import { TEST_KAFKA_BROKERS, uniqueKafkaNames, waitFor } from '@els/test-kit';
import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import type { DeadLetter } from '../consumer/message-types';
import { createEventProducer, REPLAY_OF_HEADER, type EventProducer } from '../kafka/event-producer';
import { createKafkaClient } from '../kafka/kafka-client';
import { ensureTopics } from '../kafka/topic-admin';
import { silentLogger } from '../logger';
import { DeadLetterReplayError, replayDeadLetters } from './dead-letter-replay';
import { cursorGroupId, resolveReplayFilters, type ReplayFilters } from './dead-letter-selection';
import type { ReplayArguments } from './replay-args';
import type { LetterListing, ReplayProgress, ReplaySummary } from './replay-report';

const { topicPrefix: prefix } = uniqueKafkaNames('replay');
const deadLetterTopic = topicName(TOPICS.deadLetter, prefix);
const inputTopics = INPUT_TOPICS.map((base) => topicName(base, prefix));
const content = topicName(TOPICS.essayContentProvisioned, prefix);
const registered = topicName(TOPICS.batchEssaysRegistered, prefix);
const validation = topicName(TOPICS.essayValidationFailed, prefix);

interface Fixture {
  readonly name: string;
  readonly letter: DeadLetter;
}

/** A dead letter of a record read from `topic`, with bytes no text decoding would keep intact. */
function fixture(
  name: string,
  topic: string,
  partition: number,
  code: ErrorCode,
  extra: { key?: Buffer | null; headers?: IHeaders } = {},
): Fixture {
  const value = Buffer.concat([Buffer.from(`{"name":"${name}"}`), Buffer.from([0xff, 0x00, 0xfe])]);
  return {
    name,
    letter: {
      message: {
        topic,
        partition,
        offset: String(1000 + partition),
        key: extra.key === undefined ? Buffer.from([0x00, ...Buffer.from(name), 0xc3]) : extra.key,
        value,
        ...(extra.headers ? { headers: extra.headers } : {}),
      },
      code,
      reason: `${name} failed`,
      eventId: randomUUID(),
    },
  };
}

// Dead-lettered before the time boundary.
const a1 = fixture('a1', content, 1, 'ELS_ERR_INTERNAL');
const a2 = fixture('a2', registered, 2, 'ELS_ERR_CONTRACT_NOT_JSON');
// After it.
const b1 = fixture('b1', content, 3, 'ELS_ERR_INTERNAL');
const b2 = fixture('b2', validation, 4, 'ELS_ERR_INTERNAL', { key: null });
const b3 = fixture('b3', content, 5, 'ELS_ERR_DATABASE_REJECTED');
/** The dead letter of a record that was itself a replay: it failed again. */
const b4 = fixture('b4', content, 6, 'ELS_ERR_INTERNAL', {
  headers: { [REPLAY_OF_HEADER]: Buffer.from(`${deadLetterTopic}/0/0`) },
});
/** Names a topic outside this deployment's prefix: must never be produced to. */
const b5 = fixture('b5', `other.${TOPICS.essayContentProvisioned}`, 7, 'ELS_ERR_INTERNAL');
/** A reference letter: the dead-letter topic refused the letter with its value, so it has none to replay. */
const b6base = fixture('b6', content, 8, 'ELS_ERR_INTERNAL');
const b6: Fixture = {
  name: 'b6',
  letter: {
    ...b6base.letter,
    reference: { valueSha256: 'ab'.repeat(32), valueBytes: 21, refusal: 'too large' },
  },
};

const noArguments: ReplayArguments = {
  codes: [],
  sourceTopics: [],
  includeReplayed: false,
  fromBeginning: false,
  dryRun: false,
};

interface ReplayedRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  replayOf: string | undefined;
}

describe('replaying dead letters through the real broker', () => {
  let kafka: Kafka;
  let producer: EventProducer;
  let boundaryMs = 0;
  const cursorGroups = new Set<string>();
  const openConsumers = new Set<Consumer>();

  function filtersOf(overrides: Partial<ReplayArguments>): ReplayFilters {
    const result = resolveReplayFilters({ ...noArguments, ...overrides }, prefix);
    if (result.kind !== 'filters') throw new Error(result.message);
    cursorGroups.add(cursorGroupId(result.filters));
    return result.filters;
  }

  async function replay(
    overrides: Partial<ReplayArguments>,
  ): Promise<{ summary: ReplaySummary; listings: LetterListing[]; progress: ReplayProgress[] }> {
    const listings: LetterListing[] = [];
    const progress: ReplayProgress[] = [];
    const summary = await replayDeadLetters({
      kafka,
      topicPrefix: prefix,
      filters: filtersOf(overrides),
      dryRun: overrides.dryRun ?? false,
      fromBeginning: overrides.fromBeginning ?? false,
      logger: silentLogger,
      onLetter: (listing) => listings.push(listing),
      onProgress: (entry) => progress.push(entry),
      progressIntervalMs: 200,
    });
    return { summary, listings, progress };
  }

  /** Records on the input topics: their number from the end offsets, their content read back. */
  async function inputRecords(): Promise<ReplayedRecord[]> {
    const admin = kafka.admin();
    await admin.connect();
    let total = 0;
    try {
      for (const topic of inputTopics) {
        for (const { high, low } of await admin.fetchTopicOffsets(topic)) total += Number(high) - Number(low);
      }
    } finally {
      await admin.disconnect();
    }
    if (total === 0) return [];
    const records: ReplayedRecord[] = [];
    const reader = kafka.consumer({ groupId: `replay-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
    openConsumers.add(reader);
    try {
      await reader.connect();
      await reader.subscribe({ topics: inputTopics, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, partition, message }) => {
          records.push({
            topic,
            partition,
            key: message.key,
            value: message.value,
            replayOf: message.headers?.[REPLAY_OF_HEADER]?.toString(),
          });
        },
      });
      await waitFor(`${total} records read back from the input topics`, () => records.length >= total, {
        timeoutMs: 30_000,
      });
    } finally {
      await reader.disconnect();
      openConsumers.delete(reader);
    }
    return records;
  }

  /** What a replay of `fixtures` must have produced, as read back (the letters' own coordinates from `listings`). */
  function expected(fixtures: readonly Fixture[], listings: readonly LetterListing[]): ReplayedRecord[] {
    return fixtures.map(({ letter }) => {
      const listed = listings.find((entry) => entry.letter.eventId === letter.eventId);
      if (!listed) throw new Error(`no dry-run listing for ${letter.eventId}`);
      return {
        topic: letter.message.topic,
        partition: letter.message.partition,
        key: letter.message.key,
        value: letter.message.value,
        replayOf: `${deadLetterTopic}/${listed.letter.partition}/${listed.letter.offset}`,
      };
    });
  }

  const byTopicAndValue = (records: readonly ReplayedRecord[]) =>
    [...records].sort(
      (a, b) =>
        a.topic.localeCompare(b.topic) ||
        Buffer.compare(a.value ?? Buffer.alloc(0), b.value ?? Buffer.alloc(0)),
    );

  beforeAll(async () => {
    kafka = createKafkaClient({
      brokers: [...TEST_KAFKA_BROKERS],
      clientId: `replay-${prefix}`,
      logger: silentLogger,
    });
    await ensureTopics(kafka, prefix, 12, silentLogger);
    producer = createEventProducer(kafka, prefix, silentLogger);
    await producer.start();
    await producer.publishDeadLetters([a1.letter, a2.letter]);
    // Every record of the first group is stamped at or before `sent`, every later one after `boundaryMs`.
    const sent = Date.now();
    boundaryMs = await waitFor(
      'the clock to move past the first letters',
      () => Date.now() > sent && Date.now(),
    );
    await producer.publishDeadLetters([b1.letter, b2.letter, b3.letter, b4.letter, b5.letter, b6.letter]);
  });

  afterAll(async () => {
    for (const consumer of openConsumers) await consumer.disconnect();
    await producer?.stop();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteGroups([...cursorGroups]).catch(() => undefined);
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
      await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  });

  const sinceBoundary = () => ({ codes: ['ELS_ERR_INTERNAL'], sinceMs: boundaryMs });
  let dryRunListings: LetterListing[] = [];

  it('a dry run lists what it would replay, holds back and refuses, and produces and commits nothing', async () => {
    const { summary, listings, progress } = await replay({ ...sinceBoundary(), dryRun: true });
    dryRunListings = listings;
    const named = (action: LetterListing['action']) =>
      listings
        .filter((entry) => entry.action === action)
        .map((entry) => entry.letter.eventId)
        .sort();
    expect(named('would-replay')).toEqual([b1.letter.eventId, b2.letter.eventId].sort());
    expect(named('failed-again-after-replay')).toEqual([b4.letter.eventId]);
    expect(named('refused-source-topic')).toEqual([b5.letter.eventId]);
    expect(named('reference-letter')).toEqual([b6.letter.eventId]);
    expect(summary).toMatchObject({
      dryRun: true,
      toRead: 8,
      read: 8,
      selected: 5,
      replayed: 2,
      skipped: {
        code: 2,
        sourceTopic: 0,
        timeRange: 1,
        refusedSourceTopic: 1,
        referenceLetter: 1,
        failedAgainAfterReplay: 1,
      },
    });
    expect(progress.at(-1)?.phase).toBe('done');

    expect(await inputRecords()).toEqual([]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [cursor] = await admin.fetchOffsets({ groupId: summary.cursorGroup, topics: [deadLetterTopic] });
      expect(cursor?.partitions.every((partition) => partition.offset === '-1')).toBe(true);
    } finally {
      await admin.disconnect();
    }
  });

  it('a replay filtered by code and time produces exactly the selected letters, byte for byte, to their source partitions with the replay header', async () => {
    const { summary, listings } = await replay(sinceBoundary());
    expect(summary).toMatchObject({ dryRun: false, read: 8, selected: 5, replayed: 2 });
    expect(listings.map((entry) => entry.action).sort()).toEqual([
      'failed-again-after-replay',
      'reference-letter',
      'refused-source-topic',
    ]);
    const records = await inputRecords();
    expect(byTopicAndValue(records)).toEqual(byTopicAndValue(expected([b1, b2], dryRunListings)));
  });

  it('the same replay run again reads and replays nothing', async () => {
    const { summary } = await replay(sinceBoundary());
    expect(summary).toMatchObject({ toRead: 0, read: 0, replayed: 0 });
    expect(await inputRecords()).toHaveLength(2);
  });

  it('a replay of letters before a time selects only those, whatever their code', async () => {
    const { summary } = await replay({ untilMs: boundaryMs });
    expect(summary).toMatchObject({ read: 8, selected: 2, replayed: 2 });
    expect(summary.skipped.timeRange).toBe(6);
    const records = await inputRecords();
    const older = records.filter((record) =>
      [a1, a2].some(({ letter }) => letter.message.value?.equals(record.value ?? Buffer.alloc(0))),
    );
    expect(older.map((record) => record.topic).sort()).toEqual([content, registered].sort());
    expect(records).toHaveLength(4);
  });

  it('a replay whose filters another run is using is refused and replays nothing', async () => {
    const filters = filtersOf({ codes: ['ELS_ERR_DATABASE_REJECTED'] });
    const holder = kafka.consumer({ groupId: cursorGroupId(filters), maxWaitTimeInMs: 100 });
    openConsumers.add(holder);
    let joined = false;
    holder.on(holder.events.GROUP_JOIN, () => (joined = true));
    await holder.connect();
    await holder.subscribe({ topics: [deadLetterTopic], fromBeginning: false });
    await holder.run({ autoCommit: false, eachMessage: async () => undefined });
    await waitFor('the other run joined the cursor group', () => joined);
    try {
      await expect(replay({ codes: ['ELS_ERR_DATABASE_REJECTED'] })).rejects.toMatchObject({
        name: DeadLetterReplayError.name,
        reason: 'concurrent-run',
      });
    } finally {
      await holder.disconnect();
      openConsumers.delete(holder);
    }
    expect(await inputRecords()).toHaveLength(4);
  });
});
