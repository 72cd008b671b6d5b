import { TOPICS } from '@els/contracts';
import { makeContent, makeRegistration, makeValidationFailure } from '@els/contracts/testing';
import type { Sql } from './database';
import type { HandlerContext } from './handler-context';
import { handleContent } from './handlers/content-handler';
import { handleRegistration } from './handlers/registration-handler';
import { handleValidationFailure } from './handlers/validation-failure-handler';
import { createTestDatabase, type TestDatabase } from './testing';

/**
 * A completion is stamped when the batch's latch was set, after the commit of every text it lists, not when
 * the handling of the input that resolved the last slot began: texts other transactions assigned
 * meanwhile may have been sent after that. The clock here returns the handling's start first and a later
 * time afterwards.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const STARTED = new Date('2026-01-01T00:00:00.000Z');
const DECIDED = new Date('2026-01-01T00:00:05.000Z');

/** A clock whose first reading is the transaction's start and every later one the decision. */
function startThenLater(): HandlerContext {
  let readings = 0;
  return { clock: () => (readings++ === 0 ? STARTED : DECIDED) };
}

async function timestampsOf(sql: Sql, topic: string, batchId: string): Promise<string[]> {
  const rows = await sql<Array<{ at: string }>>`
    select payload->>'event_timestamp' as at from outbox where topic = ${topic}
      and (payload->'data'->>'batch_id') = ${batchId}`;
  return rows.map((row) => new Date(row.at).toISOString());
}

describe('the completion timestamp', () => {
  it('is the moment a content transaction completed the batch; its slot event keeps the start', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await handleContent(db.sql, makeContent({ batchId }));
    await handleContent(db.sql, makeContent({ batchId }), startThenLater());
    expect(await timestampsOf(db.sql, TOPICS.batchContentProvisioningCompleted, batchId)).toEqual([
      DECIDED.toISOString(),
    ]);
    const slotEvents = await timestampsOf(db.sql, TOPICS.essaySlotAssigned, batchId);
    expect(slotEvents).toContain(STARTED.toISOString());
  });

  it('is the moment a validation failure completed the batch', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await handleContent(db.sql, makeContent({ batchId }));
    await handleValidationFailure(db.sql, makeValidationFailure({ batchId }), startThenLater());
    expect(await timestampsOf(db.sql, TOPICS.batchContentProvisioningCompleted, batchId)).toEqual([
      DECIDED.toISOString(),
    ]);
  });

  it('is the moment a registration completed its batch from pending texts', async () => {
    const registration = makeRegistration({ slots: 1 });
    const batchId = registration.data.entity_id;
    await handleContent(db.sql, makeContent({ batchId }));
    await handleRegistration(db.sql, registration, startThenLater());
    expect(await timestampsOf(db.sql, TOPICS.batchContentProvisioningCompleted, batchId)).toEqual([
      DECIDED.toISOString(),
    ]);
  });
});
