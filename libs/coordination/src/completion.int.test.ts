import { TOPICS, type EssayContentProvisioned } from '@els/contracts';
import { makeContent, makeRegistration, makeValidationFailure } from '@els/contracts/testing';
import { silentLogger } from './handler-context';
import { waitFor } from '@els/test-kit';
import { createCompletionSweeper } from './completion-sweeper';
import type { Sql } from './database';
import { completeFullBatches } from './handlers/completion';
import { handleContent, handleContentBatch } from './handlers/content-handler';
import { handleRegistration } from './handlers/registration-handler';
import { handleValidationFailure } from './handlers/validation-failure-handler';
import { essayStatesClaimFree } from './sql/essay-states';
import { completionCount } from './test/invariant-fixtures';
import { createTestDatabase, type TestDatabase } from './testing';

/**
 * Invariant 4 with the completion decided after the commit: no content transaction touches its batch's
 * row, the latch is set only once every slot's change is committed and visible, and a batch whose last
 * resolver committed and stopped before it looked is completed by a redelivery or by the sweep.
 */
let db: TestDatabase;
let other: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  other = db.connect(4);
});
afterAll(async () => db.drop());

async function registered(slots: number): Promise<string> {
  const registration = makeRegistration({ slots });
  await handleRegistration(db.sql, registration);
  return registration.data.entity_id;
}

/** Sessions of this file's database waiting for a lock. */
async function lockWaiters(): Promise<number> {
  const [row] = await db.sql<Array<{ n: number }>>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`;
  return row?.n ?? 0;
}

/** The texts a batch's completion lists, from its outbox row. */
async function completionTexts(batchId: string): Promise<string[]> {
  const [row] = await db.sql<Array<{ texts: string[] }>>`
    select array(select e ->> 'text_storage_id'
                   from jsonb_array_elements(payload -> 'data' -> 'essays_for_processing') e
                  order by 1) as texts
      from outbox where topic = ${TOPICS.batchContentProvisioningCompleted} and key = ${batchId}`;
  return row?.texts ?? [];
}

/** Resolves every free slot of a batch the way a content transaction does, without the look after it. */
async function fillWithoutLooking(batchId: string, texts: EssayContentProvisioned[]): Promise<void> {
  await db.sql.begin((tx) =>
    essayStatesClaimFree(
      tx,
      batchId,
      texts.map((t) => ({
        textStorageId: t.data.text_storage_id,
        fileUploadId: t.data.file_upload_id,
        originalFileName: t.data.original_file_name,
        correlationId: t.data.correlation_id,
      })),
      new Date(),
    ),
  );
}

describe('completion after the commit', () => {
  it('a content transaction never waits on its batch row: a text is assigned while another session holds that row', async () => {
    const batchId = await registered(3);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = other.begin(async (tx) => {
      await tx`select 1 from batches where batch_id = ${batchId} for update`;
      locked();
      await held;
    });
    await isLocked;
    let handled = false;
    const content = handleContent(db.sql, makeContent({ batchId })).finally(() => (handled = true));
    // Whichever comes first: the outcome, or the content transaction waiting for a lock.
    const first = await waitFor('the outcome or a lock wait', async () =>
      handled ? ('handled' as const) : (await lockWaiters()) > 0 ? ('waited' as const) : false,
    );
    release();
    await holder;
    expect(first).toBe('handled');
    expect(await content).toMatchObject({ kind: 'assigned', completed: false });
  });

  it('completes a batch only once the last slot change is committed, and lists every slot', async () => {
    const batchId = await registered(2);
    const first = makeContent({ batchId });
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let claimed!: () => void;
    const isClaimed = new Promise<void>((resolve) => (claimed = resolve));
    // Another replica's content transaction: it has claimed a slot and not committed yet.
    const slow = other.begin(async (tx) => {
      await essayStatesClaimFree(
        tx,
        batchId,
        [
          {
            textStorageId: first.data.text_storage_id,
            fileUploadId: first.data.file_upload_id,
            originalFileName: first.data.original_file_name,
            correlationId: first.data.correlation_id,
          },
        ],
        new Date(),
      );
      claimed();
      await committed;
    });
    await isClaimed;
    const second = makeContent({ batchId });
    const outcome = await handleContent(db.sql, second);
    // The other slot still reads free: not complete, whatever this transaction saw of its own.
    expect(outcome).toMatchObject({ kind: 'assigned', completed: false });
    expect(await completionCount(db.sql, batchId)).toBe(0);
    commit();
    await slow;
    // What the slow transaction's handler does after its commit.
    expect([...(await completeFullBatches(other, [batchId]))]).toEqual([batchId]);
    expect(await completionCount(db.sql, batchId)).toBe(1);
    expect(await completionTexts(batchId)).toEqual(
      [first.data.text_storage_id, second.data.text_storage_id].sort(),
    );
  });

  it('a redelivered text completes a batch whose last resolver committed and stopped before it looked', async () => {
    const batchId = await registered(2);
    const texts = [makeContent({ batchId }), makeContent({ batchId })];
    await fillWithoutLooking(batchId, texts);
    expect(await completionCount(db.sql, batchId)).toBe(0);
    const [again] = await handleContentBatch(db.sql, [texts[1] as EssayContentProvisioned]);
    expect(again).toMatchObject({ kind: 'duplicate', completed: true });
    expect(await completionCount(db.sql, batchId)).toBe(1);
    const [later] = await handleContentBatch(db.sql, [texts[0] as EssayContentProvisioned]);
    expect(later).toMatchObject({ kind: 'duplicate' });
    expect(later).not.toMatchObject({ completed: true });
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });

  it('an excess text that finds a batch full before its last resolver looked reports the completion', async () => {
    const batchId = await registered(2);
    await fillWithoutLooking(batchId, [makeContent({ batchId }), makeContent({ batchId })]);
    const [late] = await handleContentBatch(db.sql, [makeContent({ batchId })]);
    expect(late).toMatchObject({ kind: 'excess', completed: true });
    expect(await completionCount(db.sql, batchId)).toBe(1);
  });

  it('a redelivered validation failure or registration completes such a batch too', async () => {
    const viaFailure = await registered(2);
    const failure = makeValidationFailure({ batchId: viaFailure });
    expect(await handleValidationFailure(db.sql, failure)).toMatchObject({ kind: 'slot-failed' });
    await fillWithoutLooking(viaFailure, [makeContent({ batchId: viaFailure })]);
    expect(await handleValidationFailure(db.sql, failure)).toMatchObject({
      kind: 'duplicate',
      completed: true,
    });
    expect(await completionCount(db.sql, viaFailure)).toBe(1);

    const registration = makeRegistration({ slots: 1 });
    const viaRegistration = registration.data.entity_id;
    await handleRegistration(db.sql, registration);
    await fillWithoutLooking(viaRegistration, [makeContent({ batchId: viaRegistration })]);
    expect(await handleRegistration(db.sql, registration)).toMatchObject({
      kind: 'duplicate',
      completed: true,
    });
    expect(await completionCount(db.sql, viaRegistration)).toBe(1);
  });

  it('the sweep completes such a batch once, also racing other sweeps and a redelivery', async () => {
    const sweepers = [db.sql, other, db.connect(2)].map((sql) =>
      createCompletionSweeper({ sql, intervalMs: 60_000, batchSize: 2, logger: silentLogger }),
    );
    const batches: string[] = [];
    let redelivered: EssayContentProvisioned | undefined;
    for (const slots of [2, 1, 3]) {
      const batchId = await registered(slots);
      const texts = Array.from({ length: slots }, () => makeContent({ batchId }));
      await fillWithoutLooking(batchId, texts);
      batches.push(batchId);
      redelivered ??= texts[0];
    }
    const open = await registered(2);
    const counts = await Promise.all([
      ...sweepers.map((s) => s.sweep()),
      handleContentBatch(db.sql, [redelivered as EssayContentProvisioned]).then(([o]) =>
        o?.kind === 'duplicate' && o.completed ? 1 : 0,
      ),
    ]);
    // Every full batch once, by whichever got its latch first; batches of two per transaction, so the
    // sweep repeats until a pass finds fewer.
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
    for (const batchId of batches) expect(await completionCount(db.sql, batchId)).toBe(1);
    expect(await completionCount(db.sql, open)).toBe(0);
    expect(await (sweepers[0] as (typeof sweepers)[0]).sweep()).toBe(0);
  });

  it('the sweeper runs its passes until stopped', async () => {
    const completed: number[] = [];
    const sweeper = createCompletionSweeper({
      sql: db.sql,
      intervalMs: 100,
      batchSize: 10,
      logger: silentLogger,
      onCompleted: (n) => completed.push(n),
    });
    await sweeper.start();
    try {
      const batchId = await registered(1);
      await fillWithoutLooking(batchId, [makeContent({ batchId })]);
      await waitFor('the sweep', async () => (await completionCount(db.sql, batchId)) === 1);
      expect(completed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    } finally {
      await sweeper.stop();
    }
  });
});
