import autocannon from 'autocannon';

export interface HttpLoadOptions {
  /** Target URL. `{id}` in it is replaced by the ids of `ids`, one per request in turn. */
  url: string;
  durationS: number;
  connections: number;
  pipelining?: number;
  ids?: readonly string[];
  /**
   * Requests after which the load closes a connection and opens a new one (0: never). autocannon does not
   * honour a response's `Connection: close`: when a server ends a keep-alive connection after its own
   * request limit (nginx's `keepalive_requests`, 1000 by default; Node's `maxRequestsPerSocket`) it has
   * already written the next request on it, and the reset or 503 that follows counts against the server.
   * Retiring connections first keeps the load from ever reaching such a limit. Default 500.
   */
  reconnectRate?: number;
}

/** Below nginx's default `keepalive_requests` (1000), the lowest limit a load balancer sets by default. */
export const DEFAULT_RECONNECT_RATE = 500;

export interface HttpLoadResult {
  url: string;
  durationS: number;
  connections: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; average: number };
  /** Responses by status code, e.g. `{ "200": 950, "404": 50 }`. */
  statusCodes: Record<string, number>;
  non2xx: number;
  /** Socket errors and timeouts (autocannon counts a timeout as an error too). */
  errors: number;
  timeouts: number;
  /** What the errors were, by error code (or message when it has none): `{ "ECONNRESET": 1 }`. */
  errorKinds: Record<string, number>;
}

const ID_PLACEHOLDER = '{id}';

/** Loads an HTTP endpoint with autocannon and returns latency percentiles and throughput. */
export async function runHttpLoad(options: HttpLoadOptions): Promise<HttpLoadResult> {
  const ids = options.ids ?? [];
  const reconnectRate = options.reconnectRate ?? DEFAULT_RECONNECT_RATE;
  const templated = options.url.includes(ID_PLACEHOLDER);
  if (templated && ids.length === 0) {
    throw new Error(`The URL contains ${ID_PLACEHOLDER} but no ids were given to fill it`);
  }
  const target = new URL(templated ? options.url.replaceAll(ID_PLACEHOLDER, 'placeholder') : options.url);
  const pathTemplate = templated
    ? options.url.slice(options.url.indexOf(target.host) + target.host.length)
    : undefined;
  let next = 0;
  const requests = pathTemplate
    ? [
        {
          setupRequest: (request: { path?: string }) => {
            const id = ids[next % ids.length] ?? '';
            next += 1;
            return { ...request, path: pathTemplate.replaceAll(ID_PLACEHOLDER, encodeURIComponent(id)) };
          },
        },
      ]
    : undefined;

  const job = autocannon({
    url: target.origin + (pathTemplate ? '/' : `${target.pathname}${target.search}`),
    connections: options.connections,
    duration: options.durationS,
    pipelining: options.pipelining ?? 1,
    ...(requests ? { requests } : {}),
    ...(reconnectRate > 0 ? { reconnectRate } : {}),
  });
  const errorKinds: Record<string, number> = {};
  job.on('reqError', (error: Error & { code?: string }) => {
    const kind = error.code ?? error.message;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  });
  const result = await job;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]),
  );
  return {
    url: options.url,
    durationS: options.durationS,
    connections: options.connections,
    requests: result.requests.total,
    requestsPerSec: result.requests.average,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      average: result.latency.average,
    },
    statusCodes,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    errorKinds,
  };
}

const kindsText = (result: HttpLoadResult): string => {
  const kinds = Object.entries(result.errorKinds).map(([kind, count]) => `${kind}: ${count}`);
  return kinds.length > 0 ? ` (${kinds.join(', ')})` : '';
};

/** One human-readable block for the CLI. */
export function formatHttpLoad(result: HttpLoadResult): string {
  const { latencyMs: l } = result;
  const codes = Object.entries(result.statusCodes)
    .map(([code, count]) => `${code}: ${count}`)
    .join(', ');
  return [
    `${result.url} — ${result.connections} connections, ${result.durationS} s`,
    `latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}  (avg ${l.average.toFixed(2)})`,
    `requests: ${result.requests} total, ${result.requestsPerSec.toFixed(1)} req/s`,
    `status: ${codes || 'none'}; errors ${result.errors}, timeouts ${result.timeouts}${kindsText(result)}`,
  ].join('\n');
}
