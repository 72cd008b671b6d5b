import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { deploymentId } from '@els/coordination';
import { waitFor } from '@els/test-kit';
import { createTestDatabase } from '@els/coordination/testing';
import { silentLogger } from '../logger';
import { createEventFilter, filterNamespace, seenKey, type EventFilter } from './event-filter';

const redisUrl = process.env.ELS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('Redis event filter', () => {
  const filters: EventFilter[] = [];
  const track = (filter: EventFilter) => (filters.push(filter), filter);
  afterEach(async () => {
    await Promise.all(filters.splice(0).map((filter) => filter.stop()));
  });

  it('reports an id as seen only after it was marked, with the configured TTL', async () => {
    const namespace = `test-${randomUUID()}`;
    const filter = track(createEventFilter({ url: redisUrl, namespace, ttlS: 120, logger: silentLogger }));
    await filter.start();
    expect(filter.degraded()).toBe(false);
    const [a, b] = [randomUUID(), randomUUID()];
    expect(await filter.filterSeen([a, b])).toEqual(new Set());
    await filter.markSeen([a]);
    expect(await filter.filterSeen([a, b])).toEqual(new Set([a]));

    const direct = new Redis(redisUrl);
    try {
      const ttl = await direct.ttl(seenKey(namespace, a));
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
      await direct.del(seenKey(namespace, a));
    } finally {
      direct.disconnect();
    }
  });

  it('keeps the ids of one deployment invisible to another sharing the same Redis', async () => {
    const first = track(
      createEventFilter({ url: redisUrl, namespace: `a-${randomUUID()}`, ttlS: 60, logger: silentLogger }),
    );
    const second = track(
      createEventFilter({ url: redisUrl, namespace: `b-${randomUUID()}`, ttlS: 60, logger: silentLogger }),
    );
    await Promise.all([first.start(), second.start()]);
    const id = randomUUID();
    await first.markSeen([id]);
    expect(await first.filterSeen([id])).toEqual(new Set([id]));
    expect(await second.filterSeen([id])).toEqual(new Set());
  });

  it('never lets two databases share seen marks, even under the same consumer group and topic prefix', async () => {
    const [first, second] = await Promise.all([
      createTestDatabase({ max: 1 }),
      createTestDatabase({ max: 1 }),
    ]);
    try {
      const group = `group-${randomUUID()}`;
      const prefix = 'same.prefix.';
      const ids = [await deploymentId(first.sql), await deploymentId(second.sql)];
      const [a, b] = ids.map((id) =>
        track(
          createEventFilter({
            url: redisUrl,
            // Resolved when the filter starts, as the worker does once the schema is current.
            namespace: () => filterNamespace(id, group, prefix),
            ttlS: 60,
            logger: silentLogger,
          }),
        ),
      );
      if (!a || !b) throw new Error('two filters expected');
      await Promise.all([a.start(), b.start()]);
      const event = randomUUID();
      await a.markSeen([event]);
      expect(await a.filterSeen([event])).toEqual(new Set([event]));
      expect(await b.filterSeen([event])).toEqual(new Set());
      const direct = new Redis(redisUrl);
      try {
        expect(await direct.exists(seenKey(`${ids[0]}/${group}/${prefix}`, event))).toBe(1);
        expect(await direct.exists(seenKey(`${ids[1]}/${group}/${prefix}`, event))).toBe(0);
      } finally {
        direct.disconnect();
      }
    } finally {
      await Promise.all([first.drop(), second.drop()]);
    }
  });

  it('never throws and reports degraded while Redis cannot be reached', async () => {
    const changes: boolean[] = [];
    // Port 1 refuses connections: the same failure a stopped Redis gives.
    const filter = track(
      createEventFilter({
        namespace: 'test',
        url: 'redis://127.0.0.1:1',
        ttlS: 60,
        logger: silentLogger,
        onDegradedChange: (d) => changes.push(d),
      }),
    );
    await filter.start();
    expect(filter.degraded()).toBe(true);
    await expect(filter.filterSeen([randomUUID()])).resolves.toEqual(new Set());
    await expect(filter.markSeen([randomUUID()])).resolves.toBeUndefined();
    expect(changes).toEqual([true]);
  });

  it('recovers from degraded once Redis answers again', async () => {
    const changes: boolean[] = [];
    const connectionName = `els-filter-test-${randomUUID().slice(0, 8)}`;
    const filter = track(
      createEventFilter({
        namespace: 'test',
        url: redisUrl,
        ttlS: 60,
        logger: silentLogger,
        pingIntervalMs: 50,
        connectionName,
        onDegradedChange: (d) => changes.push(d),
      }),
    );
    await filter.start();
    await waitFor('filter healthy', () => !filter.degraded(), { timeoutMs: 5000 });
    // Killing its connection drops it exactly as a Redis restart does; ioredis reconnects by itself.
    const admin = new Redis(redisUrl);
    try {
      const list = String(await admin.client('LIST'));
      const line = list.split('\n').find((entry) => entry.includes(`name=${connectionName} `));
      const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', String(id));
    } finally {
      admin.disconnect();
    }
    await waitFor('the dropped connection observed', () => changes.lastIndexOf(true) > 0, {
      timeoutMs: 5000,
    });
    await waitFor('filter healthy again', () => !filter.degraded(), { timeoutMs: 10_000 });
    const id = randomUUID();
    await filter.markSeen([id]);
    expect(await filter.filterSeen([id])).toEqual(new Set([id]));
  });

  it('falls back to the database when Redis stops answering mid-call, and never throws', async () => {
    // A TCP relay to the real Redis whose answers can be held back: Redis hangs for this client only.
    let holding = false;
    const sockets: net.Socket[] = [];
    const relay = net.createServer((client) => {
      const upstream = net.connect(6379, '127.0.0.1');
      sockets.push(client, upstream);
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => {
        if (!holding) client.write(chunk);
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as net.AddressInfo;
    try {
      const changes: boolean[] = [];
      const filter = track(
        createEventFilter({
          url: `redis://127.0.0.1:${port}`,
          namespace: `hang-${randomUUID()}`,
          ttlS: 60,
          logger: silentLogger,
          commandTimeoutMs: 300,
          pingIntervalMs: 60_000,
          onDegradedChange: (d) => changes.push(d),
        }),
      );
      await filter.start();
      await waitFor('filter healthy', () => !filter.degraded(), { timeoutMs: 5000 });
      const id = randomUUID();
      await filter.markSeen([id]);
      expect(await filter.filterSeen([id])).toEqual(new Set([id]));

      holding = true;
      // The lookup times out inside the call: nothing counts as seen, so the database decides.
      await expect(filter.filterSeen([id])).resolves.toEqual(new Set());
      expect(filter.degraded()).toBe(true);
      expect(changes.slice(-2)).toEqual([false, true]);
      await expect(filter.markSeen([randomUUID()])).resolves.toBeUndefined();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });
});
