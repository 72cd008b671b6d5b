import { TOPICS, type BatchContentProvisioningCompleted } from '@els/contracts';
import { makeContent, makeRegistration, makeValidationFailure } from '@els/contracts/testing';
import type { Sql } from './database';
import { handleContent } from './handlers/content-handler';
import { handleRegistration } from './handlers/registration-handler';
import { handleValidationFailure } from './handlers/validation-failure-handler';
import { createTestDatabase, type TestDatabase } from './testing';
import { completionCount, outboxCount, slotCounts } from './test/invariant-fixtures';

let db: TestDatabase;
let replicaA: Sql;
let replicaB: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  replicaA = db.connect(4);
  replicaB = db.connect(4);
});
afterAll(async () => db.drop());

async function completionOf(batchId: string): Promise<BatchContentProvisioningCompleted['data']> {
  const [row] = await db.sql<Array<{ payload: BatchContentProvisioningCompleted }>>`
    select payload from outbox where topic = ${TOPICS.batchContentProvisioningCompleted}
      and payload->'data'->>'batch_id' = ${batchId}`;
  if (!row) throw new Error(`no completion for ${batchId}`);
  return row.payload.data;
}

describe('registration and pending content', () => {
  it('content committed as pending concurrently with the registration is always assigned (200 rounds)', async () => {
    for (let round = 0; round < 200; round++) {
      const registration = makeRegistration({ slots: 2 });
      const batchId = registration.data.entity_id;
      const text = makeContent({ batchId });
      const [, contentOutcome] = await Promise.all([
        handleRegistration(replicaA, registration),
        handleContent(replicaB, text),
      ]);
      expect(['assigned', 'pending']).toContain(contentOutcome.kind);
      const counts = await slotCounts(db.sql, batchId);
      expect(counts).toMatchObject({ assigned: 1, free: 1, pending: 0, excess: 0 });
    }
  });

  it('a validation failure racing the registration always resolves exactly one slot (100 rounds)', async () => {
    for (let round = 0; round < 100; round++) {
      const registration = makeRegistration({ slots: 2 });
      const batchId = registration.data.entity_id;
      const [, outcome] = await Promise.all([
        handleRegistration(replicaA, registration),
        handleValidationFailure(replicaB, makeValidationFailure({ batchId })),
      ]);
      expect(['slot-failed', 'pending']).toContain(outcome.kind);
      expect(await slotCounts(db.sql, batchId)).toMatchObject({ failed: 1, free: 1, assigned: 0 });
    }
  });

  it('validation failures that arrive before the registration resolve slots when it arrives', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    expect((await handleValidationFailure(db.sql, makeValidationFailure({ batchId }))).kind).toBe('pending');
    expect((await handleContent(db.sql, makeContent({ batchId }))).kind).toBe('pending');
    const outcome = await handleRegistration(db.sql, registration);
    expect(outcome).toMatchObject({
      kind: 'registered',
      assignedFromPending: 1,
      failedFromPending: 1,
      completed: true,
    });
    expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 1, failed: 1, free: 0, pending: 0 });
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });

  it('names in each slot-assigned event the slot that holds its text, and records each failure on its slot', async () => {
    const registration = makeRegistration({ slots: 12 });
    const batchId = registration.data.entity_id;
    for (let i = 0; i < 5; i++) await handleValidationFailure(db.sql, makeValidationFailure({ batchId }));
    for (let i = 0; i < 7; i++) await handleContent(db.sql, makeContent({ batchId }));
    await handleRegistration(db.sql, registration);
    const slots = await db.sql<Array<{ essayId: string; text: string | null; upload: string | null }>>`
      select essay_id as "essayId", text_storage_id as text, file_upload_id as upload
      from essay_states where batch_id = ${batchId}`;
    const events = await db.sql<Array<{ essayId: string; text: string }>>`
      select payload->'data'->>'essay_id' as "essayId", payload->'data'->>'text_storage_id' as text
      from outbox where topic = ${TOPICS.essaySlotAssigned} and payload->'data'->>'batch_id' = ${batchId}`;
    expect(events).toHaveLength(7);
    const textOf = new Map(slots.map((slot) => [slot.essayId, slot.text]));
    for (const event of events) expect(textOf.get(event.essayId)).toBe(event.text);
    const failures = await db.sql<Array<{ essayId: string | null; upload: string }>>`
      select essay_id as "essayId", file_upload_id as upload from validation_failures where batch_id = ${batchId}`;
    const uploadOf = new Map(slots.map((slot) => [slot.essayId, slot.upload]));
    expect(failures).toHaveLength(5);
    for (const failure of failures) expect(uploadOf.get(failure.essayId ?? '')).toBe(failure.upload);
  });

  it('pending texts beyond the slot count become excess reports at registration', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    for (let i = 0; i < 4; i++) await handleContent(db.sql, makeContent({ batchId, textStorageId: `t${i}` }));
    const outcome = await handleRegistration(db.sql, registration);
    expect(outcome).toMatchObject({ kind: 'registered', assignedFromPending: 2, excessFromPending: 2 });
    expect(await outboxCount(db.sql, TOPICS.excessContentProvisioned, batchId)).toBe(2);
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });
});

describe('registration redelivery and conflicts', () => {
  it('acknowledges a redelivered registration with no error and no second set of slots', async () => {
    const registration = makeRegistration({ slots: 3 });
    const batchId = registration.data.entity_id;
    const outcomes = await Promise.all([
      handleRegistration(replicaA, registration),
      handleRegistration(replicaB, registration),
      handleRegistration(db.sql, registration),
    ]);
    expect(outcomes.filter((o) => o.kind === 'registered')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'duplicate')).toHaveLength(2);
    expect((await handleRegistration(db.sql, registration)).kind).toBe('duplicate');
    const [row] = await db.sql<
      Array<{ n: number }>
    >`select count(*)::int as n from essay_states where batch_id = ${batchId}`;
    expect(row?.n).toBe(3);
  });

  it('lets exactly one of two batches registering a shared essay id at the same moment win (20 rounds)', async () => {
    for (let round = 0; round < 20; round++) {
      const shared = `shared-essay-${round}-${Date.now()}`;
      const first = makeRegistration({ essayIds: [shared, `${shared}-a`] });
      const second = makeRegistration({ essayIds: [`${shared}-b`, shared] });
      const outcomes = await Promise.all([
        handleRegistration(replicaA, first),
        handleRegistration(replicaB, second),
      ]);
      expect(outcomes.map((o) => o.kind).sort()).toEqual(['conflict', 'registered']);
      const loser = outcomes.find((o) => o.kind === 'conflict');
      expect(loser).toMatchObject({ essayIds: [shared] });
      const [row] = await db.sql<Array<{ n: number }>>`
        select count(*)::int as n from batches where batch_id = ${loser?.batchId ?? ''}`;
      expect(row?.n).toBe(0);
    }
  });

  it('rejects essay ids already registered under another batch and writes nothing', async () => {
    const first = makeRegistration({ slots: 2 });
    await handleRegistration(db.sql, first);
    const second = makeRegistration({ essayIds: [first.data.essay_ids[0] as string, 'fresh-essay'] });
    const outcome = await handleRegistration(db.sql, second);
    expect(outcome).toMatchObject({ kind: 'conflict', essayIds: [first.data.essay_ids[0]] });
    const [row] = await db.sql<
      Array<{ n: number }>
    >`select count(*)::int as n from batches where batch_id = ${second.data.entity_id}`;
    expect(row?.n).toBe(0);
  });
});

describe('validation failures', () => {
  it('let a batch complete, and the completion counts only the texts', async () => {
    const registration = makeRegistration({ slots: 3 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await handleContent(db.sql, makeContent({ batchId, textStorageId: 'a' }));
    const failure = makeValidationFailure({ batchId });
    await Promise.all([
      handleValidationFailure(replicaA, failure),
      handleContent(replicaB, makeContent({ batchId, textStorageId: 'b' })),
    ]);
    expect(await completionCount(db.sql, batchId)).toBe(1);
    const completion = await completionOf(batchId);
    expect(completion.expected_count).toBe(3);
    expect(completion.provisioned_count).toBe(2);
    expect(completion.essays_for_processing.map((e) => e.text_storage_id).sort()).toEqual(['a', 'b']);
  });

  it('resolve one slot once per file_upload_id, however often redelivered', async () => {
    const registration = makeRegistration({ slots: 3 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const failure = makeValidationFailure({ batchId });
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map((i) => handleValidationFailure(i % 2 ? replicaA : replicaB, failure)),
    );
    expect(outcomes.filter((o) => o.kind === 'slot-failed')).toHaveLength(1);
    expect(await slotCounts(db.sql, batchId)).toMatchObject({ failed: 1, free: 2 });
  });

  it('are recorded without changing any slot when no slot is free', async () => {
    const registration = makeRegistration({ slots: 1 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await handleContent(db.sql, makeContent({ batchId, textStorageId: 'only' }));
    const outcome = await handleValidationFailure(db.sql, makeValidationFailure({ batchId }));
    expect(outcome.kind).toBe('no-free-slot');
    expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 1, failed: 0, free: 0 });
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });
});
