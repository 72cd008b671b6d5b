import { readFileSync } from 'node:fs';
import { TOPICS } from '@els/contracts';
import { makeContent, toWire } from '@els/contracts/testing';
import { waitFor } from '@els/test-kit';
import { startFaultProxy, type FaultProxy } from '../nemesis/fault-proxy';
import { cleanOutcome, collectOutcome, planFullBatch, sendRegistration, waitAssigned } from './batch-outcome';
import { useWorkerFixture } from './worker-fixture';

const SLOTS = 40;
const SESSION_TIMEOUT_MS = 6000;
const LATENCY_MS = 150;

/** The sum of one counter's series with these label values in a replica's /metrics text. */
function counterValue(metrics: string, name: string, labels: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('a database slow enough that one fetched batch outlasts the session timeout', () => {
  let proxy: FaultProxy | undefined;
  // Hooks run in the order they are declared: the proxy opens before the fixture's replicas start.
  beforeAll(async () => {
    proxy = await startFaultProxy({ name: 'slow-db-postgres', targetHost: '127.0.0.1', targetPort: 5432 });
  });
  // Two replicas: an evicted member's partition would move to its peer and be fetched there again.
  const openFixture = useWorkerFixture('slow-db', {
    replicas: 2,
    env: {
      ELS_CONSUMER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      // Two texts per transaction and one partition at a time: the fetch below is twenty slow steps.
      ELS_CONSUMER_MAX_BATCH_SIZE: '2',
      ELS_PARTITIONS_CONSUMED_CONCURRENTLY: '1',
      ELS_DB_STATEMENT_TIMEOUT_MS: '30000',
    },
    routeDatabase: (url) => {
      if (!proxy) throw new Error('the database proxy is not started');
      const routed = new URL(url);
      routed.hostname = proxy.host;
      routed.port = String(proxy.port);
      return routed.toString();
    },
  });

  // Declared after the fixture's: closes once its replicas are gone.
  afterAll(async () => proxy?.close());

  it('keeps the member in its group and handles every text once, with no redelivery', async () => {
    const fixture = openFixture();
    const batch = planFullBatch('slow-db', SLOTS);
    await sendRegistration(fixture, batch);
    await waitFor(
      'the batch registered',
      async () =>
        (await fixture.db.sql`select 1 from batches where batch_id = ${batch.batchId}`).length === 1,
      { timeoutMs: 60_000 },
    );
    proxy?.setMode({ kind: 'latency', ms: LATENCY_MS });
    // One partition, one fetch: every step of it waits on the slow database, about a second each.
    const startedAt = Date.now();
    await fixture.send(
      TOPICS.essayContentProvisioned,
      batch.texts.map((textStorageId) => ({
        key: batch.batchId,
        value: toWire(makeContent({ batchId: batch.batchId, textStorageId })),
        partition: 0,
      })),
    );
    await waitAssigned(fixture, batch.batchId, SLOTS, 180_000);
    const tookMs = Date.now() - startedAt;
    proxy?.setMode({ kind: 'pass' });
    // The test means something only if the work really outlasted a session timeout.
    expect(tookMs).toBeGreaterThan(SESSION_TIMEOUT_MS * 1.5);

    // A member evicted mid-batch loses its partition to its peer, which fetches the uncommitted texts again.
    let consumed = 0;
    for (const replica of fixture.cluster.replicas) {
      const { body } = await fixture.cluster.httpGet(replica.index, '/metrics');
      consumed += counterValue(String(body), 'els_events_consumed_total', 'event="content"');
      const log = readFileSync(replica.logFile, 'utf8');
      expect(log).not.toContain('The coordinator is not aware of this member');
    }
    expect(consumed).toBe(SLOTS);
    expect(await collectOutcome(fixture, batch)).toEqual(cleanOutcome(SLOTS));
    expect(fixture.cluster.unexpectedExits()).toEqual([]);
  }, 300_000);
});
