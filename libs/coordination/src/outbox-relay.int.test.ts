import { randomUUID } from 'node:crypto';
import type { Sql } from './database';
import { silentLogger } from './handler-context';
import { createOutboxRelay, type OutboxMessage, type OutboxRelay, type PublishResult } from './outbox-relay';
import { createTestDatabase, waitFor, type TestDatabase } from './testing';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

async function seedOutbox(sql: Sql, count: number): Promise<Map<string, string>> {
  const label = randomUUID();
  await sql`
    insert into outbox (event_id, topic, key, payload)
    select id, 'test.topic', ${label}, jsonb_build_object('event_id', id::text)
    from (select gen_random_uuid() as id from generate_series(1, ${count})) as t`;
  const rows = await sql<Array<{ id: string; eventId: string }>>`
    select id::text as id, event_id::text as "eventId" from outbox where key = ${label}`;
  return new Map(rows.map((r) => [r.id, r.eventId]));
}

/**
 * A publisher port that records what it published and, in `attempts`, everything it was handed (the Kafka
 * side is tested in the worker).
 */
function recordingPublisher(
  log: OutboxMessage[],
  fail: (m: OutboxMessage) => boolean = () => false,
  attempts: OutboxMessage[] = [],
) {
  return async (messages: OutboxMessage[]): Promise<PublishResult[]> => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    return messages.map((m) => {
      attempts.push(m);
      if (fail(m)) return { ok: false, error: new Error('broker rejected the record') };
      log.push(m);
      return { ok: true };
    });
  };
}

describe('outbox relay', () => {
  it('three relays on three connections publish 1,000 rows exactly once each, with their stored event ids', async () => {
    const stored = await seedOutbox(db.sql, 1000);
    const published: OutboxMessage[] = [];
    const relays: OutboxRelay[] = [0, 1, 2].map(() =>
      createOutboxRelay({
        sql: db.connect(2),
        publisher: recordingPublisher(published),
        batchSize: 50,
        pollIntervalMs: 50,
        maxBackoffMs: 1000,
        logger: silentLogger,
      }),
    );
    await Promise.all(relays.map((r) => r.start()));
    try {
      await waitFor('every outbox row published', async () => {
        const [row] = await db.sql<
          Array<{ n: number }>
        >`select count(*)::int as n from outbox where published_at is null`;
        return row?.n === 0;
      });
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
    expect(published).toHaveLength(1000);
    expect(new Set(published.map((m) => m.id)).size).toBe(1000);
    for (const message of published) {
      expect(message.eventId).toBe(stored.get(message.id));
      expect(JSON.parse(message.value)).toEqual({ event_id: message.eventId });
    }
  });

  it('retries a row that keeps failing with backoff without blocking the rows behind it', async () => {
    await db.sql`update outbox set published_at = coalesce(published_at, now())`;
    const stored = await seedOutbox(db.sql, 20);
    const poisoned = [...stored.values()][0] as string;
    const published: OutboxMessage[] = [];
    const attempts: OutboxMessage[] = [];
    const relay = createOutboxRelay({
      sql: db.connect(2),
      publisher: recordingPublisher(published, (m) => m.eventId === poisoned, attempts),
      batchSize: 5,
      pollIntervalMs: 20,
      maxBackoffMs: 200,
      logger: silentLogger,
    });
    await relay.start();
    try {
      await waitFor('the healthy rows published and the poisoned one retried', async () => {
        const [row] = await db.sql<Array<{ healthy: number; attempts: number }>>`
          select count(*) filter (where published_at is null and event_id <> ${poisoned})::int as healthy,
                 max(attempts) filter (where event_id = ${poisoned})::int as attempts
          from outbox`;
        return row?.healthy === 0 && (row?.attempts ?? 0) >= 3;
      });
    } finally {
      await relay.stop();
    }
    // The poisoned row was handed over again and again, always with its stored id, and never marked.
    const retried = attempts.filter((m) => m.eventId === poisoned);
    expect(retried.length).toBeGreaterThanOrEqual(3);
    expect(new Set(retried.map((m) => m.id)).size).toBe(1);
    expect(published).toHaveLength(19);
    const [row] = await db.sql<Array<{ lastError: string | null; publishedAt: Date | null }>>`
      select last_error as "lastError", published_at as "publishedAt" from outbox where event_id = ${poisoned}`;
    expect(row?.lastError).toContain('broker rejected');
    expect(row?.publishedAt).toBeNull();
  });
});
