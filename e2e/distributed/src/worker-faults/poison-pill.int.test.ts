import { TOPICS } from '@els/contracts';
import { makeContent, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { OUTPUT } from '@els/harness';
import { registeredBatch, waitAssigned, type FullBatch } from './batch-outcome';
import { useWorkerFixture, type WorkerFixture } from './worker-fixture';

const RETRY_UNEXPECTED_MAX = 6;
const READY_MAX_RETRY_MS = 300;

/** The part of the /readyz body this test reads. */
interface RetryingBody {
  ready: boolean;
  retrying?: {
    ok: boolean;
    messages: Array<{
      topic: string;
      partition: number;
      offset: string;
      eventId?: string;
      correlationId?: string;
      code: string;
      attempts: number;
      ageMs: number;
    }>;
  };
}

/**
 * A trigger that makes PostgreSQL itself refuse one text: any write to essay_states binding a text listed
 * in poison_texts raises that text's SQLSTATE. A sequence per SQLSTATE counts the attempts (sequences are
 * not rolled back with the failed transaction).
 */
async function installPoison(fixture: WorkerFixture): Promise<void> {
  const { sql } = fixture.db;
  await sql`create table poison_texts (text_storage_id text primary key, errcode text not null)`;
  await sql`create sequence poison_p0001_attempts`;
  await sql`create sequence poison_54000_attempts`;
  await sql.unsafe(`
    create function poison_essay_states() returns trigger language plpgsql as $$
    declare
      poison record;
    begin
      select * into poison from poison_texts where text_storage_id = new.text_storage_id;
      if found then
        perform nextval(('poison_' || lower(poison.errcode) || '_attempts')::regclass);
        raise exception 'poisoned text %', new.text_storage_id using errcode = poison.errcode;
      end if;
      return new;
    end $$`);
  await sql`
    create trigger poison_essay_states before insert or update on essay_states
    for each row execute function poison_essay_states()`;
}

async function attemptsOf(fixture: WorkerFixture, errcode: 'p0001' | '54000'): Promise<number> {
  const [row] = await fixture.db.sql<{ n: number }[]>`
    select case when is_called then last_value else 0 end::int as n
    from ${fixture.db.sql(`poison_${errcode}_attempts`)}`;
  return row?.n ?? 0;
}

/** Sends the poison, then the valid texts, all to partition 0; returns the poison and its offset. */
async function sendPoisonThenValid(fixture: WorkerFixture, batch: FullBatch, errcode: string) {
  const poisonText = `${batch.batchId}-poison`;
  await fixture.db.sql`insert into poison_texts values (${poisonText}, ${errcode})`;
  const poison = makeContent({ batchId: batch.batchId, textStorageId: poisonText });
  const valid = batch.texts.slice(0, batch.texts.length - 1);
  const poisonBytes = toWire(poison);
  const [sent] = await fixture.producer.send({
    topic: fixture.topic(TOPICS.essayContentProvisioned),
    acks: -1,
    messages: [
      { key: batch.batchId, value: poisonBytes, partition: 0 },
      ...valid.map((textStorageId) => ({
        key: batch.batchId,
        value: toWire(makeContent({ batchId: batch.batchId, textStorageId })),
        partition: 0,
      })),
    ],
  });
  if (!sent?.baseOffset) throw new Error('the broker did not acknowledge the poison with an offset');
  return { poison, poisonBytes, poisonOffset: sent.baseOffset, valid };
}

async function deadLetterOf(fixture: WorkerFixture, bytes: Buffer) {
  return waitFor(
    'the dead letter of the poison',
    () => fixture.collector.of(OUTPUT.deadLetter).find((letter) => letter.raw.equals(bytes)),
    { timeoutMs: 60_000 },
  );
}

async function assignedTexts(fixture: WorkerFixture, batchId: string): Promise<string[]> {
  const rows = await fixture.db.sql<{ text_storage_id: string }[]>`
    select text_storage_id from essay_states
    where batch_id = ${batchId} and text_storage_id is not null order by text_storage_id`;
  return rows.map((row) => row.text_storage_id);
}

async function readyz(fixture: WorkerFixture): Promise<{ status: number; body: RetryingBody }> {
  const { status, body } = await fixture.cluster.httpGet(0, '/readyz');
  return { status, body: body as RetryingBody };
}

describe('a message PostgreSQL refuses, against a real worker process', () => {
  const openFixture = useWorkerFixture('poison', {
    env: {
      ELS_RETRY_UNEXPECTED_MAX: String(RETRY_UNEXPECTED_MAX),
      ELS_RETRY_MAX_BACKOFF_MS: '1000',
      ELS_READY_MAX_RETRY_MS: String(READY_MAX_RETRY_MS),
    },
  });

  beforeAll(async () => installPoison(openFixture()), 30_000);

  it('retries an unexpected failure a bounded number of times while /readyz names it, then dead-letters it with ELS_ERR_INTERNAL and assigns the texts behind it', async () => {
    const fixture = openFixture();
    const batch = await registeredBatch(fixture, 'poison-unexpected', 4);
    const { poison, poisonBytes, poisonOffset, valid } = await sendPoisonThenValid(fixture, batch, 'P0001');

    const stuck = await waitFor(
      '/readyz to be 503 and name the poison as retrying',
      async () => {
        const { status, body } = await readyz(fixture);
        const entry = body.retrying?.messages.find((m) => m.eventId === poison.event_id);
        return status === 503 && entry ? { body, entry } : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    expect(stuck.body.ready).toBe(false);
    expect(stuck.body.retrying?.ok).toBe(false);
    expect(stuck.entry).toMatchObject({
      topic: fixture.topic(TOPICS.essayContentProvisioned),
      partition: 0,
      offset: poisonOffset,
      correlationId: poison.correlation_id,
      code: 'ELS_ERR_INTERNAL',
    });
    expect(stuck.entry.attempts).toBeGreaterThanOrEqual(1);
    expect(stuck.entry.ageMs).toBeGreaterThan(READY_MAX_RETRY_MS);

    const letter = await deadLetterOf(fixture, poisonBytes);
    expect(letter.headers).toMatchObject({
      'x-els-source-topic': fixture.topic(TOPICS.essayContentProvisioned),
      'x-els-source-partition': '0',
      'x-els-source-offset': poisonOffset,
      'x-els-error-code': 'ELS_ERR_INTERNAL',
      'x-els-event-id': poison.event_id,
    });
    expect(letter.headers['x-els-error-message']).toContain('poisoned text');

    await waitAssigned(fixture, batch.batchId, valid.length);
    expect(await assignedTexts(fixture, batch.batchId)).toEqual([...valid].sort());
    // Alone it was tried the configured number of times, then once more after the write probe found the
    // database writable (the failure must reproduce); the run it arrived in may add one call.
    const attempts = await attemptsOf(fixture, 'p0001');
    expect(attempts).toBeGreaterThanOrEqual(RETRY_UNEXPECTED_MAX + 1);
    expect(attempts).toBeLessThanOrEqual(RETRY_UNEXPECTED_MAX + 2);
    const lettersOfPoison = fixture.collector.of(OUTPUT.deadLetter).filter((l) => l.raw.equals(poisonBytes));
    expect(lettersOfPoison).toHaveLength(1);

    const after = await waitFor(
      '/readyz to be 200 again with nothing in retry',
      async () => {
        const response = await readyz(fixture);
        return response.status === 200 ? response : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(after.body.retrying?.messages).toEqual([]);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 180_000);

  it('dead-letters a permanent refusal (54000 program_limit_exceeded) once the database proved writable, with its code and assigns the texts behind it', async () => {
    const fixture = openFixture();
    const batch = await registeredBatch(fixture, 'poison-permanent', 4);
    const { poison, poisonBytes, poisonOffset, valid } = await sendPoisonThenValid(fixture, batch, '54000');

    const letter = await deadLetterOf(fixture, poisonBytes);
    expect(letter.headers).toMatchObject({
      'x-els-source-topic': fixture.topic(TOPICS.essayContentProvisioned),
      'x-els-source-partition': '0',
      'x-els-source-offset': poisonOffset,
      'x-els-error-code': 'ELS_ERR_DATABASE_REJECTED',
      'x-els-event-id': poison.event_id,
    });
    await waitAssigned(fixture, batch.batchId, valid.length);
    expect(await assignedTexts(fixture, batch.batchId)).toEqual([...valid].sort());
    // Tried once more after the write probe found the database writable, never beyond: one call in its
    // run, at most two on its own.
    expect(await attemptsOf(fixture, '54000')).toBeLessThanOrEqual(3);
    expect((await readyz(fixture)).status).toBe(200);
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 180_000);
});
