import { TOPICS } from '@els/contracts';
import { makeContent, makeRegistration, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { randomUUID } from 'node:crypto';
import { committedOffsets, endOffsets, OUTPUT } from '@els/harness';
import { useWorkerFixture } from './worker-fixture';

// Room for the ids of 512 CJK characters (1536 bytes each) below, so they fail the id rules, not the size.
const MAX_MESSAGE_BYTES = 8192;
const CJK_512 = '字'.repeat(512);

/** One message of each malformed class, with the dead-letter code the worker must give it. */
function malformedMessages(batchId: string) {
  const content = makeContent({ batchId, textStorageId: `${batchId}-bad` });
  const wire = toWire(content);
  const padding = 'x'.repeat(MAX_MESSAGE_BYTES * 2);
  return [
    {
      name: 'not JSON',
      topic: TOPICS.essayContentProvisioned,
      value: wire.subarray(0, Math.floor(wire.length / 2)),
      code: 'ELS_ERR_CONTRACT_NOT_JSON',
    },
    {
      name: 'wrong shape (a bare payload, no envelope)',
      topic: TOPICS.essayContentProvisioned,
      value: toWire([content.data]),
      code: 'ELS_ERR_CONTRACT_INVALID_ENVELOPE',
    },
    {
      name: 'wrong types',
      topic: TOPICS.essayContentProvisioned,
      value: toWire({ ...content, data: { ...content.data, file_size_bytes: '2048', text_storage_id: 7 } }),
      code: 'ELS_ERR_CONTRACT_INVALID_DATA',
    },
    {
      name: 'unknown event type',
      topic: TOPICS.essayContentProvisioned,
      value: toWire({ ...content, event_type: 'huleedu.file.essay.content.deleted.v1' }),
      code: 'ELS_ERR_CONTRACT_UNKNOWN_EVENT_TYPE',
    },
    {
      name: 'empty essay_ids',
      topic: TOPICS.batchEssaysRegistered,
      value: toWire(makeRegistration({ batchId, essayIds: [] })),
      code: 'ELS_ERR_CONTRACT_INVALID_DATA',
    },
    {
      name: 'a NUL in the text id',
      topic: TOPICS.essayContentProvisioned,
      value: toWire({ ...content, data: { ...content.data, text_storage_id: `${batchId}-nul\u0000` } }),
      code: 'ELS_ERR_CONTRACT_INVALID_DATA',
    },
    {
      name: 'batch and text ids of 512 CJK characters (1536 bytes of UTF-8 each)',
      topic: TOPICS.essayContentProvisioned,
      value: toWire({ ...content, data: { ...content.data, entity_id: CJK_512, text_storage_id: CJK_512 } }),
      code: 'ELS_ERR_CONTRACT_INVALID_DATA',
    },
    {
      name: 'two essay ids differing only in unpaired surrogates',
      topic: TOPICS.batchEssaysRegistered,
      value: toWire(makeRegistration({ batchId, essayIds: [`${batchId}-e-\ud800`, `${batchId}-e-\udbff`] })),
      code: 'ELS_ERR_CONTRACT_INVALID_DATA',
    },
    {
      name: `oversized (> ${MAX_MESSAGE_BYTES} bytes)`,
      topic: TOPICS.essayContentProvisioned,
      value: toWire({ ...content, data: { ...content.data, padding } }),
      code: 'ELS_ERR_CONTRACT_TOO_LARGE',
    },
  ];
}

describe('malformed input against a real worker process', () => {
  const openFixture = useWorkerFixture('malformed', {
    env: { ELS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) },
  });

  it('dead-letters each malformed class with its error code, moves the offset past it and stays healthy', async () => {
    const fixture = openFixture();
    const batchId = `malformed-${randomUUID().slice(0, 8)}`;
    const bad = malformedMessages(batchId);
    // Everything on partition 0 of its topic, followed by valid events: the valid ones can only be
    // handled once the offset has moved past every malformed message before them.
    for (const message of bad) {
      await fixture.send(message.topic, [{ key: randomUUID(), value: message.value, partition: 0 }]);
    }
    const registration = makeRegistration({ batchId, slots: 2 });
    await fixture.send(TOPICS.batchEssaysRegistered, [
      { key: batchId, value: toWire(registration), partition: 0 },
    ]);
    await waitFor(
      'the registration after the malformed one to be applied',
      async () => (await fixture.db.sql`select 1 from batches where batch_id = ${batchId}`).length === 1,
      { timeoutMs: 60_000 },
    );
    const texts = [`${batchId}-t1`, `${batchId}-t2`];
    for (const textStorageId of texts) {
      await fixture.send(TOPICS.essayContentProvisioned, [
        { key: randomUUID(), value: toWire(makeContent({ batchId, textStorageId })), partition: 0 },
      ]);
    }

    const letters = await waitFor(
      `${bad.length} dead letters`,
      () => {
        const found = fixture.collector.of(OUTPUT.deadLetter);
        return found.length >= bad.length ? found : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await waitFor(
      'the completion event of the valid batch behind the malformed messages',
      () => fixture.collector.of(OUTPUT.completed).length === 1,
      { timeoutMs: 60_000 },
    );

    // Each dead letter carries the original bytes and names its source and error code.
    const byValue = new Map(letters.map((letter) => [letter.raw.toString('base64'), letter]));
    const received = bad.map((message) => {
      const letter = byValue.get(Buffer.from(message.value).toString('base64'));
      return {
        name: message.name,
        code: letter?.headers['x-els-error-code'],
        sourceTopic: letter?.headers['x-els-source-topic'],
      };
    });
    expect(received).toEqual(
      bad.map((message) => ({
        name: message.name,
        code: message.code,
        sourceTopic: fixture.topic(message.topic),
      })),
    );
    expect(letters).toHaveLength(bad.length);

    // The consumer committed past everything on partition 0.
    for (const base of [TOPICS.essayContentProvisioned, TOPICS.batchEssaysRegistered]) {
      const end = (await endOffsets(fixture.kafka, fixture.topic(base))).get(0);
      await waitFor(
        `the committed offset of ${base} partition 0 to reach ${end}`,
        async () =>
          (await committedOffsets(fixture.kafka, fixture.consumerGroup, fixture.topic(base))).get(0) === end,
        { timeoutMs: 30_000 },
      );
    }

    const assigned = await fixture.db.sql<{ text_storage_id: string }[]>`
      select text_storage_id from essay_states where batch_id = ${batchId} and text_storage_id is not null
      order by text_storage_id`;
    expect(assigned.map((row) => row.text_storage_id)).toEqual(texts);
    const readiness = await fixture.cluster.readiness(0);
    expect(readiness.status).toBe(200);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
    expect(fixture.cluster.pids()).toHaveLength(1);
  }, 180_000);
});
