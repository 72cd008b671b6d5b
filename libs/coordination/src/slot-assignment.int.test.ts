import { TOPICS } from '@els/contracts';
import { makeContent, makeRegistration } from '@els/contracts/testing';
import type { Sql } from './database';
import { handleContent } from './handlers/content-handler';
import { handleRegistration } from './handlers/registration-handler';
import { handleContentBatch } from './handlers/content-handler';
import { waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from './testing';
import {
  CONTENT_PATHS,
  completionCount,
  deal,
  outboxCount,
  shuffle,
  slotCounts,
} from './test/invariant-fixtures';

let db: TestDatabase;
let replicas: Sql[];

beforeAll(async () => {
  db = await createTestDatabase();
  replicas = [db.connect(8), db.connect(8), db.connect(8)];
});
afterAll(async () => db.drop());

/** Sessions of this file's database waiting for a lock. */
async function lockWaiters(): Promise<number> {
  const [row] = await db.sql<Array<{ n: number }>>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`;
  return row?.n ?? 0;
}

describe.each(CONTENT_PATHS)('slot assignment (%s path)', (_name, submit) => {
  it('two replicas filling the last two slots emit exactly one completion, 50 times over', async () => {
    for (let round = 0; round < 50; round++) {
      const registration = makeRegistration({ slots: 3 });
      const batchId = registration.data.entity_id;
      await handleRegistration(db.sql, registration);
      await handleContent(db.sql, makeContent({ batchId }));
      const [a, b] = [makeContent({ batchId }), makeContent({ batchId })];
      const outcomes = (
        await Promise.all([submit(replicas[0] as Sql, [a]), submit(replicas[1] as Sql, [b])])
      ).flat();
      // The latch: exactly one of the two transactions completed the batch (the unique outbox key alone
      // would also leave one completion row if both had).
      expect(outcomes.filter((o) => o.kind === 'assigned' && o.completed)).toHaveLength(1);
      expect(await completionCount(db.sql, batchId)).toBe(1);
      const counts = await slotCounts(db.sql, batchId);
      expect(counts).toMatchObject({ assigned: 3, free: 0, excess: 0 });
    }
  });

  it('reports the completion on exactly one outcome when one call fills several slots of a batch', async () => {
    const registration = makeRegistration({ slots: 3 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const outcomes = await submit(db.sql, [
      makeContent({ batchId }),
      makeContent({ batchId }),
      makeContent({ batchId }),
    ]);
    const completing = outcomes.filter((o) => o.kind === 'assigned' && o.completed);
    expect(completing).toHaveLength(1);
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });

  it('twenty concurrent copies of one text give one assignment and one slot-assigned event', async () => {
    const registration = makeRegistration({ slots: 3 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const copies = Array.from({ length: 20 }, () => makeContent({ batchId, textStorageId: 'same-text' }));
    const outcomes = (
      await Promise.all(deal(copies, 3).map((part, i) => submit(replicas[i] as Sql, part)))
    ).flat();
    expect(outcomes.filter((o) => o.kind === 'assigned')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'duplicate')).toHaveLength(19);
    expect(await outboxCount(db.sql, TOPICS.essaySlotAssigned, batchId)).toBe(1);
    expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 1, free: 2, excess: 0 });
  });

  it('thirty texts for fifteen slots give fifteen assignments and fifteen excess reports, none while a slot was free', async () => {
    for (let round = 0; round < 10; round++) {
      const registration = makeRegistration({ slots: 15 });
      const batchId = registration.data.entity_id;
      await handleRegistration(db.sql, registration);
      const texts = shuffle(
        Array.from({ length: 30 }, (_, i) => makeContent({ batchId, textStorageId: `text-${i}` })),
      );
      const outcomes = (
        await Promise.all(deal(texts, 3).map((part, i) => submit(replicas[i] as Sql, part)))
      ).flat();
      expect(outcomes.filter((o) => o.kind === 'assigned')).toHaveLength(15);
      expect(outcomes.filter((o) => o.kind === 'excess')).toHaveLength(15);
      // A false excess would leave a slot free at the end (every text has exactly one outcome).
      expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 15, free: 0, excess: 15 });
      expect(await outboxCount(db.sql, TOPICS.excessContentProvisioned, batchId)).toBe(15);
      expect(await outboxCount(db.sql, TOPICS.essaySlotAssigned, batchId)).toBe(15);
      expect(await completionCount(db.sql, batchId)).toBe(1);
    }
  });

  it('waits for slots another transaction holds instead of reporting excess', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const holder = await (replicas[2] as Sql).reserve();
    try {
      await holder`begin`;
      await holder`select essay_id from essay_states where batch_id = ${batchId} for update`;
      let finished = false;
      const pending = submit(replicas[0] as Sql, [makeContent({ batchId })]).finally(() => {
        finished = true;
      });
      await waitFor('the claim to wait on the held slots', async () => finished || (await lockWaiters()) > 0);
      expect(finished).toBe(false);
      await holder`rollback`;
      const [outcome] = await pending;
      expect(outcome?.kind).toBe('assigned');
      expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 1, free: 1, excess: 0 });
    } finally {
      holder.release();
    }
  });

  it('reports a redelivered text once: same slot, no new event', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const text = makeContent({ batchId });
    const [first] = await submit(db.sql, [text]);
    const [again] = await submit(db.sql, [text]);
    expect(first?.kind).toBe('assigned');
    expect(again).toMatchObject({
      kind: 'duplicate',
      essayId: first?.kind === 'assigned' ? first.essayId : 'x',
    });
    expect(await outboxCount(db.sql, TOPICS.essaySlotAssigned, batchId)).toBe(1);
  });

  it('reports a text arriving after completion as excess once', async () => {
    const registration = makeRegistration({ slots: 1 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await submit(db.sql, [makeContent({ batchId })]);
    const late = makeContent({ batchId });
    const [first] = await submit(db.sql, [late]);
    const [again] = await submit(db.sql, [late]);
    expect(first?.kind).toBe('excess');
    expect(again?.kind).toBe('duplicate');
    expect(await outboxCount(db.sql, TOPICS.excessContentProvisioned, batchId)).toBe(1);
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });
});

describe('slot assignment, batched path across batches', () => {
  it('concurrent calls that each mix texts of three batches fill every batch with its own texts only', async () => {
    for (let round = 0; round < 10; round++) {
      const registrations = [0, 1, 2].map(() => makeRegistration({ slots: 4 }));
      for (const registration of registrations) await handleRegistration(db.sql, registration);
      const batchIds = registrations.map((r) => r.data.entity_id);
      // Five texts per batch for four slots: four assigned and one excess per batch.
      const texts = shuffle(
        batchIds.flatMap((batchId) => [0, 1, 2, 3, 4].map(() => makeContent({ batchId }))),
      );
      const outcomes = (
        await Promise.all(deal(texts, 3).map((part, i) => handleContentBatch(replicas[i] as Sql, part)))
      ).flat();
      for (const batchId of batchIds) {
        expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 4, free: 0, excess: 1 });
        expect(await completionCount(db.sql, batchId)).toBe(1);
        expect(
          outcomes.filter((o) => o.batchId === batchId && o.kind === 'assigned' && o.completed),
        ).toHaveLength(1);
        const own = new Set(
          texts.filter((t) => t.data.entity_id === batchId).map((t) => t.data.text_storage_id),
        );
        const held = await db.sql<Array<{ text: string }>>`
          select text_storage_id as text from essay_states
          where batch_id = ${batchId} and text_storage_id is not null`;
        for (const { text } of held) expect(own.has(text)).toBe(true);
      }
    }
  });
});

describe('slot assignment never waits for a slot while holding one', () => {
  it('a call that claimed a slot defers the text whose only free slot another transaction holds, so that transaction can go on without a deadlock', async () => {
    const registration = makeRegistration({ slots: 2 });
    const batchId = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    const other = await (replicas[2] as Sql).reserve();
    try {
      // Another replica's claim of slot 2, not committed yet.
      await other`begin`;
      await other`
        update essay_states
           set status = 'ready_for_processing', text_storage_id = 'other-text', file_upload_id = 'other-upload',
               original_file_name = 'other.txt', content_correlation_id = gen_random_uuid(), updated_at = now()
         where batch_id = ${batchId} and slot_index = 2`;
      // Two texts: the first takes slot 1; the second finds only slot 2, which the other transaction holds.
      const pending = handleContentBatch(replicas[0] as Sql, [
        makeContent({ batchId, textStorageId: 'first' }),
        makeContent({ batchId, textStorageId: 'second' }),
      ]);
      await waitFor('a claim to wait on the held slot', async () => (await lockWaiters()) > 0);
      // The other transaction now wants a further slot and waits for the lowest one still free in its
      // view. Had the call kept slot 1 locked while it waits for slot 2, the two would wait for each other
      // until PostgreSQL's deadlock_timeout rolled one back (and slot 1 came back free); the call committed
      // slot 1 before it waited, so the other transaction finds it taken at once.
      const rows = await other`
        select essay_id from essay_states
         where batch_id = ${batchId} and status = 'uploaded'
         order by slot_index limit 1 for update`;
      expect(rows).toHaveLength(0);
      await other`rollback`;
      const outcomes = await pending;
      expect(outcomes.map((o) => [o.kind, o.textStorageId])).toEqual([
        ['assigned', 'first'],
        ['assigned', 'second'],
      ]);
      expect(outcomes.filter((o) => o.kind === 'assigned' && o.completed)).toHaveLength(1);
      expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 2, free: 0, excess: 0 });
      expect(await completionCount(db.sql, batchId)).toBe(1);
    } finally {
      other.release();
    }
  });
});

describe('content transactions never wait for each other', () => {
  /** Deadlocks PostgreSQL detected in this file's database, as its statistics show them. */
  async function deadlocks(): Promise<number> {
    const [row] = await db.sql<Array<{ n: number }>>`
      select deadlocks::int as n from pg_stat_database where datname = current_database()`;
    return row?.n ?? 0;
  }

  it.each(CONTENT_PATHS)(
    'thirty texts for fifteen slots from three replicas, twenty rounds (%s path): PostgreSQL detects no deadlock',
    async (_name, submit) => {
      const before = await deadlocks();
      const pools = [db.connect(8), db.connect(8), db.connect(8)];
      for (let round = 0; round < 20; round++) {
        const registration = makeRegistration({ slots: 15 });
        const batchId = registration.data.entity_id;
        await handleRegistration(db.sql, registration);
        const texts = shuffle(Array.from({ length: 30 }, () => makeContent({ batchId })));
        await Promise.all(deal(texts, 3).map((part, i) => submit(pools[i] as Sql, part)));
        expect(await slotCounts(db.sql, batchId)).toMatchObject({ assigned: 15, free: 0, excess: 15 });
      }
      // A backend reports its statistics when it exits at the latest: close the pools, then give the
      // exiting backends a moment (a deadlock shows within it; none must).
      await Promise.all(pools.map((pool) => pool.end({ timeout: 5 })));
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline && (await deadlocks()) === before) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect((await deadlocks()) - before).toBe(0);
    },
  );
});
