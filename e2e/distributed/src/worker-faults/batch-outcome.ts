import { TOPICS } from '@els/contracts';
import { makeContent, makeRegistration, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { randomUUID } from 'node:crypto';
import { OUTPUT } from '@els/harness';
import type { WorkerFixture } from './worker-fixture';

/** A registered batch whose texts exactly fill its slots: every text must end assigned, once. */
export interface FullBatch {
  batchId: string;
  essayIds: string[];
  texts: string[];
}

export function planFullBatch(label: string, slots: number): FullBatch {
  const batchId = `${label}-${randomUUID().slice(0, 8)}`;
  return {
    batchId,
    essayIds: Array.from({ length: slots }, (_, i) => `${batchId}-e${i + 1}`),
    texts: Array.from({ length: slots }, (_, i) => `${batchId}-t${i + 1}`),
  };
}

/** Plans a batch of `slots`, registers it, sends its first `firstTexts` texts and waits for them to be assigned. */
export async function startFullBatch(
  fixture: WorkerFixture,
  label: string,
  slots: number,
  firstTexts: number,
): Promise<FullBatch> {
  const batch = planFullBatch(label, slots);
  await sendRegistration(fixture, batch);
  await sendTexts(fixture, batch, batch.texts.slice(0, firstTexts));
  await waitAssigned(fixture, batch.batchId, firstTexts);
  return batch;
}

export async function sendRegistration(fixture: WorkerFixture, batch: FullBatch): Promise<void> {
  const event = makeRegistration({ batchId: batch.batchId, essayIds: batch.essayIds });
  await fixture.send(TOPICS.batchEssaysRegistered, [{ key: batch.batchId, value: toWire(event) }]);
}

/** Plans a batch of `slots`, registers it and waits until the worker applied the registration. */
export async function registeredBatch(
  fixture: WorkerFixture,
  label: string,
  slots: number,
): Promise<FullBatch> {
  const batch = planFullBatch(label, slots);
  await sendRegistration(fixture, batch);
  await waitFor(
    `batch ${batch.batchId} registered`,
    async () => (await fixture.db.sql`select 1 from batches where batch_id = ${batch.batchId}`).length === 1,
    { timeoutMs: 60_000 },
  );
  return batch;
}

/** Sends texts one message at a time with random keys (so they spread over partitions). */
export async function sendTexts(
  fixture: WorkerFixture,
  batch: FullBatch,
  texts: readonly string[],
  gapMs = 0,
): Promise<void> {
  for (const textStorageId of texts) {
    const event = makeContent({ batchId: batch.batchId, textStorageId });
    await fixture.send(TOPICS.essayContentProvisioned, [{ key: randomUUID(), value: toWire(event) }]);
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}

export async function assignedCount(fixture: WorkerFixture, batchId: string): Promise<number> {
  const [row] = await fixture.db.sql<{ n: number }[]>`
    select count(*)::int as n from essay_states where batch_id = ${batchId} and text_storage_id is not null`;
  return row?.n ?? 0;
}

export async function waitAssigned(
  fixture: WorkerFixture,
  batchId: string,
  count: number,
  timeoutMs = 90_000,
): Promise<void> {
  await waitFor(
    `${count} texts of ${batchId} assigned`,
    async () => (await assignedCount(fixture, batchId)) >= count,
    { timeoutMs, intervalMs: 200 },
  );
}

export interface BatchOutcome {
  /** Texts sent but not assigned in the database. */
  missing: string[];
  /** Texts held by more than one slot, or slots holding something never sent. */
  doubled: string[];
  /** Distinct slot-assigned events (by event id) that name the same essay twice. */
  essaysAnnouncedTwice: string[];
  slotAssignedEvents: number;
  completionEvents: number;
  excessEvents: number;
  deadLetters: number;
  unpublishedOutboxRows: number;
}

/**
 * Waits until the batch's completion event arrived and the outbox is drained, then compares the database
 * and the output topics with what was sent. Duplicate records with the same event id (at-least-once
 * publishing) are one event; two event ids for one slot are a double effect.
 */
export async function collectOutcome(fixture: WorkerFixture, batch: FullBatch): Promise<BatchOutcome> {
  const { sql } = fixture.db;
  await waitFor(
    `the completion event of ${batch.batchId}`,
    () => distinctEventIds(fixture, OUTPUT.completed, batch.batchId).size > 0,
    { timeoutMs: 90_000 },
  );
  await waitFor(
    'the outbox to be fully published',
    async () => {
      const [row] = await sql<
        { n: number }[]
      >`select count(*)::int as n from outbox where published_at is null`;
      return row?.n === 0;
    },
    { timeoutMs: 60_000 },
  );
  await waitFor(
    `every slot-assigned event of ${batch.batchId} on the topic`,
    () => distinctEventIds(fixture, OUTPUT.assigned, batch.batchId).size >= batch.texts.length,
    { timeoutMs: 60_000 },
  );
  const rows = await sql<{ essay_id: string; text_storage_id: string }[]>`
    select essay_id, text_storage_id from essay_states
    where batch_id = ${batch.batchId} and text_storage_id is not null`;
  const sent = new Set(batch.texts);
  const held = new Map<string, number>();
  for (const row of rows) held.set(row.text_storage_id, (held.get(row.text_storage_id) ?? 0) + 1);
  const events = distinctEventIds(fixture, OUTPUT.assigned, batch.batchId);
  const perEssay = new Map<string, number>();
  for (const value of events.values()) {
    const essayId = String((value['data'] as Record<string, unknown>)['essay_id']);
    perEssay.set(essayId, (perEssay.get(essayId) ?? 0) + 1);
  }
  const [unpublished] = await sql<{ n: number }[]>`
    select count(*)::int as n from outbox where published_at is null`;
  return {
    missing: batch.texts.filter((text) => !held.has(text)),
    doubled: [...held].filter(([text, n]) => n > 1 || !sent.has(text)).map(([text]) => text),
    essaysAnnouncedTwice: [...perEssay].filter(([, n]) => n > 1).map(([essayId]) => essayId),
    slotAssignedEvents: events.size,
    completionEvents: distinctEventIds(fixture, OUTPUT.completed, batch.batchId).size,
    excessEvents: distinctEventIds(fixture, OUTPUT.excess, batch.batchId).size,
    deadLetters: fixture.collector.of(OUTPUT.deadLetter).length,
    unpublishedOutboxRows: unpublished?.n ?? 0,
  };
}

/** What a correct worker ends with for a full batch of `slots` texts. */
export function cleanOutcome(slots: number): BatchOutcome {
  return {
    missing: [],
    doubled: [],
    essaysAnnouncedTwice: [],
    slotAssignedEvents: slots,
    completionEvents: 1,
    excessEvents: 0,
    deadLetters: 0,
    unpublishedOutboxRows: 0,
  };
}

/**
 * The events of one batch on an output topic, by event id. A fixture's topics outlive a test, so the events
 * of the batches of earlier tests are there too and must not count (nor stand in for this batch's).
 */
/** The distinct completion events of a batch the collector has read (by event id). */
export function completionEventIds(fixture: WorkerFixture, batchId: string): Set<string> {
  return new Set(distinctEventIds(fixture, OUTPUT.completed, batchId).keys());
}

function distinctEventIds(
  fixture: WorkerFixture,
  topic: (typeof OUTPUT)[keyof typeof OUTPUT],
  batchId: string,
): Map<string, Record<string, unknown>> {
  const events = new Map<string, Record<string, unknown>>();
  for (const message of fixture.collector.of(topic)) {
    const data = message.value?.['data'] as Record<string, unknown> | undefined;
    if (message.value && data?.['batch_id'] === batchId) {
      events.set(String(message.value['event_id']), message.value);
    }
  }
  return events;
}
