import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TOPICS } from '@els/contracts';
import { makeContent, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { KAFKA_BROKERS, OUTPUT, workerEntry } from '@els/harness';
import { planFullBatch, sendRegistration, waitAssigned } from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

const run = promisify(execFile);
const SLOTS = 6;
const REFUSED = 3;

/** A trigger that refuses (P0001, an unexpected failure) any write binding one of the listed texts. */
async function refuseTexts(fixture: WorkerFixture, texts: readonly string[]): Promise<void> {
  const { sql } = fixture.db;
  await sql`create table refused_texts (text_storage_id text primary key)`;
  await sql`insert into refused_texts ${sql(texts.map((text_storage_id) => ({ text_storage_id })))}`;
  await sql.unsafe(`
    create function refuse_texts() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from refused_texts where text_storage_id = new.text_storage_id) then
        raise exception 'refused text %', new.text_storage_id;
      end if;
      return new;
    end $$`);
  await sql`create trigger refuse_texts before insert or update on essay_states
            for each row execute function refuse_texts()`;
}

/** `main.js replay-dead-letters` with the fixture's Kafka settings; its JSON summary line. */
async function replay(fixture: WorkerFixture, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [workerEntry, 'replay-dead-letters', ...args], {
    env: {
      PATH: process.env['PATH'],
      ELS_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      ELS_TOPIC_PREFIX: fixture.topicPrefix,
    },
    timeout: 120_000,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(last) as Record<string, unknown>;
}

async function assignmentsOf(fixture: WorkerFixture, batchId: string) {
  return fixture.db.sql<{ text_storage_id: string; n: number }[]>`
    select text_storage_id, count(*)::int as n from essay_states
    where batch_id = ${batchId} and text_storage_id is not null
    group by text_storage_id order by text_storage_id`;
}

describe('dead letters replayed once their cause is fixed', () => {
  const openFixture = useWorkerFixture('replay', {
    env: { ELS_RETRY_UNEXPECTED_MAX: '2', ELS_RETRY_MAX_BACKOFF_MS: '200' },
  });

  it('dead-letters texts the database refuses, and after the fix a replay assigns each of them once; a second replay does nothing', async () => {
    const fixture = openFixture();
    const batch = planFullBatch('replay', SLOTS);
    const refused = batch.texts.slice(0, REFUSED);
    await refuseTexts(fixture, refused);
    await sendRegistration(fixture, batch);
    const sent = batch.texts.map((textStorageId) => makeContent({ batchId: batch.batchId, textStorageId }));
    await fixture.send(
      TOPICS.essayContentProvisioned,
      sent.map((event) => ({ key: batch.batchId, value: toWire(event) })),
    );
    await waitFor(
      'the refused texts to be dead-lettered',
      () => fixture.collector.of(OUTPUT.deadLetter).length >= REFUSED,
      { timeoutMs: 60_000 },
    );
    await waitAssigned(fixture, batch.batchId, SLOTS - REFUSED);
    const letters = fixture.collector.of(OUTPUT.deadLetter);
    expect(letters.map((letter) => letter.headers['x-els-error-code'])).toEqual(
      Array(REFUSED).fill('ELS_ERR_INTERNAL'),
    );

    // The cause is fixed; the letters' event ids were never marked seen, so the replay is processed.
    await fixture.db.sql`drop trigger refuse_texts on essay_states`;
    const first = await replay(fixture, '--code', 'ELS_ERR_INTERNAL');
    expect(first).toMatchObject({ replayed: REFUSED });
    await waitAssigned(fixture, batch.batchId, SLOTS);
    const completions = await waitFor(
      'the completion of the batch',
      () => {
        const found = fixture.collector
          .of(OUTPUT.completed)
          .filter((record) => record.raw.toString().includes(batch.batchId));
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(completions).toHaveLength(1);

    const second = await replay(fixture, '--code', 'ELS_ERR_INTERNAL');
    expect(second).toMatchObject({ replayed: 0 });
    const rows = await assignmentsOf(fixture, batch.batchId);
    expect(rows.map((row) => row.text_storage_id)).toEqual([...batch.texts].sort());
    expect(rows.every((row) => row.n === 1)).toBe(true);
    expect(fixture.collector.of(OUTPUT.deadLetter)).toHaveLength(REFUSED);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 240_000);
});
