import { TOPICS } from '@els/contracts';
import { makeContent, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { ConfigResourceTypes } from 'kafkajs';
import { createHash, randomBytes } from 'node:crypto';
import { committedOffsets, OUTPUT } from '@els/harness';
import { registeredBatch, waitAssigned, type FullBatch } from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

/**
 * The dead-letter topic refuses a letter for good (MESSAGE_TOO_LARGE: the topic's `max.message.bytes` is
 * below the letter). The worker must write a reference letter instead (the letter's headers plus the
 * value's SHA-256 and size, no value) and move on; when even that is refused, the partition stops at the
 * message with ELS_ERR_DEAD_LETTER_REFUSED, named by /readyz and counted, until the topic takes it.
 *
 * Before the refusal was told apart from a broker outage, the letter was retried forever as an outage:
 * no letter, no count, and every message behind it on its partition waited.
 */

/** Letters above this are refused, a reference letter (headers only) is taken. */
const ROOM_FOR_REFERENCE = 8_000;
/** Even a reference letter's headers are above this. */
const ROOM_FOR_NOTHING = 200;
/** Not JSON (a contract error, dead-lettered at once) and larger than ROOM_FOR_REFERENCE. */
const BIG_VALUE_BYTES = 20_000;
/** A correct worker writes the reference letter within a second; the defect never does. */
const LETTER_TIMEOUT_MS = 30_000;

const HEADER = {
  sourceTopic: 'x-els-source-topic',
  sourcePartition: 'x-els-source-partition',
  sourceOffset: 'x-els-source-offset',
  errorCode: 'x-els-error-code',
  valueSha256: 'x-els-value-sha256',
  valueBytes: 'x-els-value-bytes',
  refusal: 'x-els-dead-letter-refusal',
} as const;

/** The part of the /readyz body this test reads. */
interface RetryingBody {
  retrying?: { messages: Array<{ topic: string; partition: number; offset: string; code: string }> };
}

/** The value of one series of a counter in a replica's /metrics text (0 when absent). */
function counterValue(metrics: string, name: string, label: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function refusedCount(fixture: WorkerFixture, outcome: 'reference' | 'stopped'): Promise<number> {
  const { body } = await fixture.cluster.httpGet(0, '/metrics');
  return counterValue(String(body), 'els_dead_letters_refused_total', `outcome="${outcome}"`);
}

/**
 * Sets the dead-letter topic's `max.message.bytes` and waits until the broker reports it. AlterConfigs
 * replaces every config set on the topic, so the others the worker set are sent along unchanged.
 */
async function setDeadLetterLimit(fixture: WorkerFixture, bytes: number): Promise<void> {
  const topic = fixture.topic(TOPICS.deadLetter);
  const admin = fixture.kafka.admin();
  await admin.connect();
  try {
    const describe = async () =>
      (
        await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
        })
      ).resources[0]?.configEntries ?? [];
    const overrides = (await describe())
      .filter((entry) => !entry.isDefault && entry.configName !== 'max.message.bytes')
      .map((entry) => ({ name: entry.configName, value: entry.configValue }));
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: topic,
          configEntries: [...overrides, { name: 'max.message.bytes', value: String(bytes) }],
        },
      ],
    });
    await waitFor(
      `max.message.bytes of ${topic} to be ${bytes}`,
      async () =>
        (await describe()).find((entry) => entry.configName === 'max.message.bytes')?.configValue ===
        String(bytes),
      { timeoutMs: 30_000 },
    );
  } finally {
    await admin.disconnect();
  }
}

async function currentDeadLetterLimit(fixture: WorkerFixture): Promise<string> {
  const admin = fixture.kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: fixture.topic(TOPICS.deadLetter) }],
    });
    const limit = resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes');
    if (!limit) throw new Error('the dead-letter topic reports no max.message.bytes');
    return limit.configValue;
  } finally {
    await admin.disconnect();
  }
}

/** Sends the oversized malformed value, then the batch's texts, all to one partition; returns its offset. */
async function sendBigThenTexts(
  fixture: WorkerFixture,
  batch: FullBatch,
  partition: number,
  big: Buffer,
): Promise<string> {
  const [sent] = await fixture.producer.send({
    topic: fixture.topic(TOPICS.essayContentProvisioned),
    acks: -1,
    messages: [
      { key: `${batch.batchId}-big`, value: big, partition },
      ...batch.texts.map((textStorageId) => ({
        key: batch.batchId,
        value: toWire(makeContent({ batchId: batch.batchId, textStorageId })),
        partition,
      })),
    ],
  });
  if (!sent?.baseOffset) throw new Error('the broker did not acknowledge the oversized value with an offset');
  return sent.baseOffset;
}

/** Random bytes that are not UTF-8 JSON: 0xff never occurs in UTF-8. */
function bigMalformedValue(): Buffer {
  const value = randomBytes(BIG_VALUE_BYTES);
  value[0] = 0xff;
  return value;
}

/** Waits for the dead letter of the content topic's `partition` at `offset`. */
function letterOf(fixture: WorkerFixture, partition: number, offset: string) {
  return waitFor(
    `the dead letter of partition ${partition} offset ${offset}`,
    () =>
      fixture.collector
        .of(OUTPUT.deadLetter)
        .find(
          (l) =>
            l.headers[HEADER.sourcePartition] === String(partition) &&
            l.headers[HEADER.sourceOffset] === offset,
        ),
    { timeoutMs: LETTER_TIMEOUT_MS },
  );
}

describe('a dead letter the dead-letter topic refuses, against a real worker process', () => {
  const openFixture = useWorkerFixture('dl-refused', { env: { ELS_RETRY_MAX_BACKOFF_MS: '1000' } });
  let originalLimit = '';
  let referenceBatch: FullBatch;
  let stoppedBatch: FullBatch;

  // Both batches registered before any letter is refused: a partition stopped by the first test must not
  // keep the second from starting.
  beforeAll(async () => {
    const fixture = openFixture();
    originalLimit = await currentDeadLetterLimit(fixture);
    referenceBatch = await registeredBatch(fixture, 'dl-ref', 2);
    stoppedBatch = await registeredBatch(fixture, 'dl-stop', 2);
  }, 90_000);

  it('writes a reference letter (headers, value hash and size, no value), counts it and moves on', async () => {
    const fixture = openFixture();
    await setDeadLetterLimit(fixture, ROOM_FOR_REFERENCE);
    const batch = referenceBatch;
    const big = bigMalformedValue();
    const offset = await sendBigThenTexts(fixture, batch, 0, big);

    const letter = await letterOf(fixture, 0, offset);
    expect({
      key: letter.key,
      valueBytes: letter.raw.byteLength,
      sourceTopic: letter.headers[HEADER.sourceTopic],
      errorCode: letter.headers[HEADER.errorCode],
      sha256: letter.headers[HEADER.valueSha256],
      bytes: letter.headers[HEADER.valueBytes],
    }).toEqual({
      key: `${batch.batchId}-big`,
      valueBytes: 0,
      sourceTopic: fixture.topic(TOPICS.essayContentProvisioned),
      errorCode: 'ELS_ERR_CONTRACT_NOT_JSON',
      sha256: createHash('sha256').update(big).digest('hex'),
      bytes: String(BIG_VALUE_BYTES),
    });
    expect(letter.headers[HEADER.refusal]).toMatch(/larger than the max message size/);

    // The texts behind it on its partition are handled: the partition moved on.
    await waitAssigned(fixture, batch.batchId, batch.texts.length, 60_000);
    expect(await refusedCount(fixture, 'reference')).toBe(1);
    expect(await refusedCount(fixture, 'stopped')).toBe(0);
    expect(fixture.collector.of(OUTPUT.deadLetter)).toHaveLength(1);
  }, 180_000);

  it('stops the partition with ELS_ERR_DEAD_LETTER_REFUSED while even the reference letter is refused, and writes the letter once the topic takes it', async () => {
    const fixture = openFixture();
    await setDeadLetterLimit(fixture, ROOM_FOR_NOTHING);
    const batch = stoppedBatch;
    const big = bigMalformedValue();
    const offset = await sendBigThenTexts(fixture, batch, 1, big);
    const contentTopic = fixture.topic(TOPICS.essayContentProvisioned);

    const named = await waitFor(
      '/readyz to name the message as retrying',
      async () => {
        const { body } = await fixture.cluster.httpGet(0, '/readyz');
        return (body as RetryingBody).retrying?.messages.find(
          (m) => m.topic === contentTopic && m.partition === 1 && m.offset === offset,
        );
      },
      { timeoutMs: LETTER_TIMEOUT_MS },
    );
    expect(named.code).toBe('ELS_ERR_DEAD_LETTER_REFUSED');
    expect(await refusedCount(fixture, 'stopped')).toBe(1);
    // Nothing behind it moved: no text assigned, the offset not committed past it.
    expect(
      (
        await fixture.db.sql`
          select 1 from essay_states where batch_id = ${batch.batchId} and text_storage_id is not null`
      ).length,
    ).toBe(0);
    const committed = (await committedOffsets(fixture.kafka, fixture.consumerGroup, contentTopic)).get(1);
    expect(committed === undefined || committed <= Number(offset)).toBe(true);
    expect(
      fixture.collector.of(OUTPUT.deadLetter).filter((l) => l.headers[HEADER.sourcePartition] === '1'),
    ).toEqual([]);

    // The topic takes letters again: the whole letter (its value too) is written and the partition moves on.
    await setDeadLetterLimit(fixture, Number(originalLimit));
    const letter = await letterOf(fixture, 1, offset);
    expect(letter.raw.equals(big)).toBe(true);
    expect(letter.headers[HEADER.valueSha256]).toBeUndefined();
    await waitAssigned(fixture, batch.batchId, batch.texts.length, 60_000);
    await waitFor(
      '/readyz to name no message as retrying',
      async () => {
        const { body } = await fixture.cluster.httpGet(0, '/readyz');
        return (body as RetryingBody).retrying?.messages.length === 0;
      },
      { timeoutMs: 30_000 },
    );
    expect(await refusedCount(fixture, 'stopped')).toBe(1);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 180_000);
});
