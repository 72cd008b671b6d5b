import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHttpLoad, runHttpLoad } from './http-load';

describe('HTTP load', () => {
  const paths: string[] = [];
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      paths.push(request.url ?? '');
      if (request.url === '/reset') {
        request.socket.resetAndDestroy();
        return;
      }
      const known = request.url?.includes('/batches/known-') ?? false;
      response.writeHead(known ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ path: request.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  });

  it('reports requests per second and ordered latency percentiles', async () => {
    const result = await runHttpLoad({ url: `${origin}/healthz`, durationS: 1, connections: 4 });
    expect(result.requests).toBeGreaterThan(10);
    expect(result.requestsPerSec).toBeGreaterThan(0);
    expect(result.errors).toBe(0);
    const { p50, p90, p99, max } = result.latencyMs;
    expect(p50).toBeLessThanOrEqual(p90);
    expect(p90).toBeLessThanOrEqual(p99);
    expect(p99).toBeLessThanOrEqual(max);
    expect(formatHttpLoad(result)).toMatch(/p50 .* p90 .* p99 .* max/);
  });

  it('fills {id} with the given ids in turn and counts the status codes', async () => {
    paths.length = 0;
    const result = await runHttpLoad({
      url: `${origin}/v1/batches/{id}/status`,
      durationS: 1,
      connections: 2,
      ids: ['known-1', 'known-2', 'missing-3'],
    });
    expect(new Set(paths.filter((path) => path.startsWith('/v1/')))).toEqual(
      new Set(['/v1/batches/known-1/status', '/v1/batches/known-2/status', '/v1/batches/missing-3/status']),
    );
    expect(result.statusCodes['200']).toBeGreaterThan(0);
    expect(result.statusCodes['404']).toBeGreaterThan(0);
    expect(result.non2xx).toBe(result.statusCodes['404']);
  });

  it('names the errors it saw by their code', async () => {
    const result = await runHttpLoad({ url: `${origin}/reset`, durationS: 1, connections: 1 });
    expect(result.errors).toBeGreaterThan(0);
    expect(result.errorKinds).toEqual({ ECONNRESET: result.errors - result.timeouts });
    expect(formatHttpLoad(result)).toContain(`(ECONNRESET: ${result.errors})`);
  });

  it('retires its connections before a server’s keep-alive request limit, which autocannon alone would run into', async () => {
    // Node ends a keep-alive connection after 5 requests with `Connection: close`, and answers any request
    // written after that on the same connection with 503, as nginx resets it after keepalive_requests.
    const limited = createServer((_request, response) => response.end('{}'));
    limited.maxRequestsPerSocket = 5;
    await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(limited.address() as AddressInfo).port}/x`;
    try {
      const retiring = await runHttpLoad({ url, durationS: 1, connections: 2, reconnectRate: 4 });
      expect(retiring.requests).toBeGreaterThan(100);
      expect({ non2xx: retiring.non2xx, errors: retiring.errors }).toEqual({ non2xx: 0, errors: 0 });
      const reusing = await runHttpLoad({ url, durationS: 1, connections: 2, reconnectRate: 0 });
      expect(reusing.non2xx).toBeGreaterThan(0);
    } finally {
      limited.closeAllConnections();
      await new Promise<void>((resolve) => limited.close(() => resolve()));
    }
  });

  it('refuses a templated URL without ids', async () => {
    await expect(
      runHttpLoad({ url: `${origin}/v1/batches/{id}/status`, durationS: 1, connections: 1 }),
    ).rejects.toThrow(/no ids/);
  });
});
