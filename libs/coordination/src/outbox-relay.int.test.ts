import { randomUUID } from 'node:crypto';
import { createDatabase, type Sql } from './database';
import { silentLogger } from './handler-context';
import { createOutboxRelay, type OutboxMessage, type OutboxRelay, type PublishResult } from './outbox-relay';
import { waitFor } from '@els/test-kit';
import { createTestDatabase, type TestDatabase } from './testing';

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

/** The pool with its `begin` calls (the relay's claim transactions) counted. */
function countingBegins(pool: Sql): { sql: Sql; begins: number } {
  const counter = { sql: pool, begins: 0 };
  counter.sql = new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'begin') return Reflect.get(target, property, receiver) as unknown;
      return (...args: Parameters<Sql['begin']>) => {
        counter.begins += 1;
        return target.begin(...args);
      };
    },
  });
  return counter;
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

  it("hands the publisher each row's origin: the application_name of the session that wrote it", async () => {
    await db.sql`update outbox set published_at = coalesce(published_at, now())`;
    const writer = createDatabase(db.url, { applicationName: 'els-worker-origin-r9', max: 1 });
    const stored = await seedOutbox(writer, 5).finally(() => writer.end());
    const published: OutboxMessage[] = [];
    const relay = createOutboxRelay({
      sql: db.connect(2),
      publisher: recordingPublisher(published),
      batchSize: 10,
      pollIntervalMs: 50,
      maxBackoffMs: 1000,
      logger: silentLogger,
    });
    await relay.start();
    try {
      await waitFor('the rows published', () => published.length >= stored.size);
    } finally {
      await relay.stop();
    }
    expect(published.map((m) => m.origin)).toEqual(new Array(stored.size).fill('els-worker-origin-r9'));
  });

  it('opens no claim transaction while the outbox is empty, and still publishes what NOTIFY announces and what falls due', async () => {
    await db.sql`update outbox set published_at = coalesce(published_at, now())`;
    const counted = countingBegins(db.connect(2));
    const published: OutboxMessage[] = [];
    const relay = createOutboxRelay({
      sql: counted.sql,
      publisher: recordingPublisher(published),
      batchSize: 50,
      pollIntervalMs: 25,
      maxBackoffMs: 200,
      logger: silentLogger,
    });
    await relay.start();
    try {
      await waitFor('the first claim pass', async () => counted.begins > 0);
      counted.begins = 0;
      // About forty poll intervals with nothing to publish: one probe statement each, no transaction.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(counted.begins).toBe(0);
      // An insert notifies; a row pushed back (no NOTIFY) is found by the probe once it is due.
      const announced = await seedOutbox(db.sql, 3);
      await waitFor('the announced rows published', async () => published.length === 3);
      expect(new Set(published.map((m) => m.eventId))).toEqual(new Set(announced.values()));
      const [row] = await db.sql<Array<{ eventId: string }>>`
        update outbox set published_at = null, next_attempt_at = now() + interval '300 milliseconds'
        where id = (select min(id) from outbox where key = ${published[0]?.key ?? ''})
        returning event_id::text as "eventId"`;
      await waitFor('the pushed-back row published once due', async () => published.length === 4);
      expect(published[3]?.eventId).toBe(row?.eventId);
    } finally {
      await relay.stop();
    }
  });

  it("claims at once for its own replica's writes, leaves a peer's NOTIFY to the peer, and polls up the rows of a peer that has no relay", async () => {
    await db.sql`update outbox set published_at = coalesce(published_at, now())`;
    const session = (name: string) => createDatabase(db.url, { max: 2, applicationName: name });
    const writerA = session('els-worker-a');
    const writerC = session('els-worker-c');
    const relays = ['a', 'b'].map((name) => {
      const counted = countingBegins(session(`els-worker-${name}`));
      const published: OutboxMessage[] = [];
      const relay = createOutboxRelay({
        sql: counted.sql,
        publisher: recordingPublisher(published),
        batchSize: 50,
        pollIntervalMs: 1500,
        maxBackoffMs: 200,
        logger: silentLogger,
      });
      return { counted, published, relay };
    });
    const [a, b] = relays as [(typeof relays)[0], (typeof relays)[0]];
    await Promise.all(relays.map((r) => r.relay.start()));
    try {
      // After its first pass a relay sleeps for the poll interval; only a NOTIFY addressed to it ends that.
      await waitFor('the first claim passes', async () => a.counted.begins > 0 && b.counted.begins > 0);
      a.counted.begins = 0;
      b.counted.begins = 0;
      const own = await seedOutbox(writerA, 5);
      await waitFor('A published the rows its replica wrote', async () => a.published.length === 5, {
        timeoutMs: 1000,
      });
      expect(new Set(a.published.map((m) => m.eventId))).toEqual(new Set(own.values()));
      expect(b.counted.begins).toBe(0);
      // C has no relay (it stopped): its NOTIFY wakes nobody, a poll publishes its rows.
      const orphaned = await seedOutbox(writerC, 3);
      await waitFor(
        "C's rows published by a poll",
        async () => a.published.length + b.published.length === 8,
        { timeoutMs: 5000 },
      );
      const byPoll = [...a.published.slice(5), ...b.published];
      expect(new Set(byPoll.map((m) => m.eventId))).toEqual(new Set(orphaned.values()));
    } finally {
      await Promise.all(relays.map((r) => r.relay.stop()));
      await Promise.all(
        [writerA, writerC, ...relays.map((r) => r.counted.sql)].map((p) => p.end({ timeout: 5 })),
      );
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

  it('ends the claim transaction of a publish that never answers within the publish timeout, so another relay publishes the rows with their stored event ids', async () => {
    await db.sql`update outbox set published_at = coalesce(published_at, now())`;
    const stored = await seedOutbox(db.sql, 10);
    const handedToHungPublisher: OutboxMessage[] = [];
    const hung = createOutboxRelay({
      sql: db.connect(1),
      publisher: (messages) => {
        handedToHungPublisher.push(...messages);
        return new Promise<PublishResult[]>(() => undefined);
      },
      batchSize: 50,
      pollIntervalMs: 50,
      maxBackoffMs: 300,
      publishTimeoutMs: 500,
      logger: silentLogger,
    });
    const started = Date.now();
    await hung.start();
    const published: OutboxMessage[] = [];
    let healthy: OutboxRelay | undefined;
    try {
      await waitFor(
        'the rows handed to the hung publisher released as failed',
        async () => {
          const [row] = await db.sql<Array<{ failed: number }>>`
            select count(*)::int as failed from outbox
            where event_id = any(${[...stored.values()]}::uuid[]) and attempts >= 1 and published_at is null
              and last_error like 'publish timed out%'`;
          return row?.failed === stored.size;
        },
        { timeoutMs: 5000, intervalMs: 20 },
      );
      expect(Date.now() - started).toBeLessThan(2500);
      expect(handedToHungPublisher.length).toBeGreaterThanOrEqual(stored.size);
      await hung.stop();
      healthy = createOutboxRelay({
        sql: db.connect(1),
        publisher: recordingPublisher(published),
        batchSize: 50,
        pollIntervalMs: 50,
        maxBackoffMs: 300,
        logger: silentLogger,
      });
      await healthy.start();
      await waitFor('every row published by the healthy relay', async () => {
        const [row] = await db.sql<Array<{ n: number }>>`
          select count(*)::int as n from outbox
          where event_id = any(${[...stored.values()]}::uuid[]) and published_at is null`;
        return row?.n === 0;
      });
    } finally {
      await hung.stop();
      await healthy?.stop();
    }
    expect(published).toHaveLength(stored.size);
    for (const message of published) expect(message.eventId).toBe(stored.get(message.id));
    for (const message of handedToHungPublisher) expect(message.eventId).toBe(stored.get(message.id));
  });

  it('lets a publish that outlasts the session idle-in-transaction timeout, but not the publish timeout, commit', async () => {
    await db.sql`update outbox set published_at = coalesce(published_at, now())`;
    const stored = await seedOutbox(db.sql, 5);
    const sql = createDatabase(db.url, {
      max: 1,
      applicationName: 'els-test-slow-publish',
      idleInTransactionSessionTimeoutMs: 300,
    });
    const relay = createOutboxRelay({
      sql,
      publisher: async (messages) => {
        await new Promise((resolve) => setTimeout(resolve, 900));
        return messages.map((): PublishResult => ({ ok: true }));
      },
      batchSize: 50,
      pollIntervalMs: 50,
      maxBackoffMs: 300,
      publishTimeoutMs: 2000,
      logger: silentLogger,
    });
    await relay.start();
    try {
      await waitFor(
        'the slowly published rows marked published',
        async () => {
          const [row] = await db.sql<Array<{ n: number }>>`
            select count(*)::int as n from outbox
            where event_id = any(${[...stored.values()]}::uuid[]) and published_at is not null`;
          return row?.n === stored.size;
        },
        { timeoutMs: 8000 },
      );
    } finally {
      await relay.stop();
      await sql.end({ timeout: 5 });
    }
    const rows = await db.sql<Array<{ attempts: number; lastError: string | null }>>`
      select attempts, last_error as "lastError" from outbox where event_id = any(${[...stored.values()]}::uuid[])`;
    expect(rows.every((row) => row.attempts === 1 && row.lastError === null)).toBe(true);
  });
});
