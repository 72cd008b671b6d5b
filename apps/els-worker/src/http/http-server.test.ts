import type { BatchStatus, EssayStatus, SchemaStatus } from '../coordination-port';
import { silentLogger } from '../logger';
import { createMetrics } from '../metrics';
import { buildHttpServer, type HttpServerDeps } from './http-server';

const essay: EssayStatus = {
  essayId: 'essay-1',
  batchId: 'batch-1',
  status: 'ready_for_processing',
  textStorageId: 'text-1',
  fileUploadId: 'upload-1',
  updatedAt: '2025-01-01T00:00:00.000Z',
};
const batch: BatchStatus = {
  batchId: 'batch-1',
  courseCode: 'ENG5',
  expectedCount: 2,
  assignedCount: 1,
  failedCount: 0,
  freeCount: 1,
  resolvedCount: 1,
  excessCount: 0,
  completedAt: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  essays: [
    essay,
    { ...essay, essayId: 'essay-2', status: 'uploaded', textStorageId: null, fileUploadId: null },
  ],
};

/** Contract-valid ids beyond plain ASCII that the status API must look up as they are. */
const SPACE_ID = 'essay one of batch 7';
const CJK_ID = '字'.repeat(170) + 'ab'; // exactly 512 bytes of UTF-8
const SLASH_ID = 'uploads/2025/essay+1';
const EXOTIC_IDS = new Set([SPACE_ID, CJK_ID, SLASH_ID]);

interface World {
  databaseUp: boolean;
  schema: SchemaStatus;
  joined: boolean;
  redisDegraded: boolean;
}

function build(world: Partial<World> = {}) {
  const state: World = {
    databaseUp: true,
    schema: { current: true, applied: 3, expected: 3 },
    joined: true,
    redisDegraded: false,
    ...world,
  };
  const metrics = createMetrics();
  const deps: HttpServerDeps = {
    instanceId: 'replica-1',
    logger: silentLogger,
    queries: {
      batchStatus: async (id) =>
        id === 'batch-1' ? batch : EXOTIC_IDS.has(id) ? { ...batch, batchId: id } : undefined,
      essayStatus: async (id) =>
        id === 'essay-1' ? essay : EXOTIC_IDS.has(id) ? { ...essay, essayId: id } : undefined,
    },
    readiness: {
      instanceId: 'replica-1',
      timeoutMs: 200,
      database: {
        ping: async () => {
          if (!state.databaseUp) throw new Error('connection refused');
          return { readOnly: false };
        },
        schemaStatus: async () => state.schema,
      },
      consumerJoined: () => state.joined,
      redisDegraded: () => state.redisDegraded,
    },
    renderMetrics: () => metrics.render(),
  };
  return { app: buildHttpServer(deps), metrics };
}

describe('HTTP API', () => {
  it('answers /healthz with ok and the instance id', async () => {
    const { app } = build();
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', instanceId: 'replica-1' });
  });

  it('reports ready when the database answers, the schema is current and the consumer joined', async () => {
    const { app } = build();
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      ready: true,
      instanceId: 'replica-1',
      dependencies: {
        database: { ok: true, readOnly: false },
        schema: { ok: true, applied: 3, expected: 3 },
        kafka: { ok: true, joined: true },
        redis: { ok: true, degraded: false },
      },
      retrying: { ok: true, maxRetryMs: 0, messages: [] },
    });
  });

  it.each([
    ['the database is down', { databaseUp: false }, 'database'],
    ['the schema is behind', { schema: { current: false, applied: 2, expected: 3 } }, 'schema'],
    ['the consumer has not joined its group', { joined: false }, 'kafka'],
  ] as const)('answers /readyz with 503 naming the dependency when %s', async (_name, world, dependency) => {
    const { app } = build(world);
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    const body = response.json();
    expect(body.ready).toBe(false);
    expect(body.dependencies[dependency].ok).toBe(false);
  });

  it('stays ready but reports Redis as degraded when only Redis is down', async () => {
    const { app } = build({ redisDegraded: true });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(200);
    expect(response.json().dependencies.redis).toEqual({ ok: false, degraded: true });
  });

  it('serves Prometheus text with the worker metrics on /metrics', async () => {
    const { app, metrics } = build();
    metrics.observeRedisDegraded(true);
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('els_redis_degraded 1');
    expect(response.body).toContain('# TYPE els_slot_assignments_total counter');
  });

  it('returns a batch status with counts, completion time and every essay', async () => {
    const { app } = build();
    const response = await app.inject({ method: 'GET', url: '/v1/batches/batch-1/status' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      batch_id: 'batch-1',
      expected_count: 2,
      assigned_count: 1,
      free_count: 1,
      completed: false,
      completed_at: null,
    });
    expect(body.essays.map((e: { essay_id: string }) => e.essay_id)).toEqual(['essay-1', 'essay-2']);
  });

  it('returns an essay status', async () => {
    const { app } = build();
    const response = await app.inject({ method: 'GET', url: '/v1/essays/essay-1/status' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      essay_id: 'essay-1',
      batch_id: 'batch-1',
      status: 'ready_for_processing',
      text_storage_id: 'text-1',
      file_upload_id: 'upload-1',
      updated_at: '2025-01-01T00:00:00.000Z',
    });
  });

  it.each(['/v1/batches/unknown/status', '/v1/essays/unknown/status', '/v1/nothing-here'])(
    'answers %s with 404 and a JSON error',
    async (url) => {
      const { app } = build();
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('ELS_ERR_NOT_FOUND');
    },
  );

  it('rejects an id with control characters with 400 and a JSON error', async () => {
    const { app } = build();
    const response = await app.inject({ method: 'GET', url: '/v1/essays/bad%01id/status' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toEqual({
      code: 'ELS_ERR_BAD_REQUEST',
      message: expect.stringContaining('essay_id'),
    });
  });

  it.each([
    ['with a space', SPACE_ID],
    ['of 512 bytes of CJK characters', CJK_ID],
    ['with a slash and a plus', SLASH_ID],
  ])('looks up a URL-encoded id %s as the contract accepts it', async (_name, id) => {
    const { app } = build();
    const essayResponse = await app.inject({
      method: 'GET',
      url: `/v1/essays/${encodeURIComponent(id)}/status`,
    });
    expect(essayResponse.statusCode).toBe(200);
    expect(essayResponse.json().essay_id).toBe(id);
    const batchResponse = await app.inject({
      method: 'GET',
      url: `/v1/batches/${encodeURIComponent(id)}/status`,
    });
    expect(batchResponse.statusCode).toBe(200);
    expect(batchResponse.json().batch_id).toBe(id);
  });

  it.each([
    ['513 bytes of CJK characters (171 characters)', encodeURIComponent('字'.repeat(171))],
    ['513 ASCII characters', 'a'.repeat(513)],
    ['5,000 ASCII characters', 'a'.repeat(5000)],
    ['a NUL', 'essay%001'],
    ['a newline', 'essay%0A1'],
    ['an unpaired surrogate (not valid UTF-8 once encoded)', '%ED%A0%80'],
  ])('rejects an id with %s with 400 ELS_ERR_BAD_REQUEST', async (_name, encoded) => {
    const { app } = build();
    for (const url of [`/v1/essays/${encoded}/status`, `/v1/batches/${encoded}/status`]) {
      const response = await app.inject({ method: 'GET', url });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 400 });
      expect(response.json().error).toEqual({ code: 'ELS_ERR_BAD_REQUEST', message: expect.any(String) });
    }
  });

  it('names the byte limit when an id is too long', async () => {
    const { app } = build();
    const response = await app.inject({
      method: 'GET',
      url: `/v1/batches/${encodeURIComponent('字'.repeat(171))}/status`,
    });
    expect(response.json().error.message).toBe('batch_id must be at most 512 bytes in UTF-8 (has 513)');
  });
});
