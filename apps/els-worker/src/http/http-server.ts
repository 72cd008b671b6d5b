import { ERROR_CODES, type ErrorCode } from '@els/coordination';
import Fastify, { type FastifyInstance } from 'fastify';
import type { StatusQueries } from '../coordination-port';
import type { Logger } from '../logger';
import { checkReadiness, type ReadinessProbes } from './readiness';
import { registerStatusRoutes, statusRouteServerOptions } from './status-routes';

export interface HttpServerDeps {
  instanceId: string;
  queries: StatusQueries;
  readiness: ReadinessProbes;
  renderMetrics(): Promise<{ contentType: string; body: string }>;
  logger: Logger;
}

export interface HttpErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The fastify app: health, readiness, metrics and the read-only status API. Nothing listens yet. */
export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  const app = Fastify({ logger: false, ...statusRouteServerOptions });

  app.addHook('onResponse', async (request, reply) => {
    deps.logger.debug(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        durationMs: reply.elapsedTime,
      },
      'Request served',
    );
  });

  app.setNotFoundHandler(async (request, reply) => {
    const body: HttpErrorBody = {
      error: { code: ERROR_CODES.notFound, message: `no route ${request.method} ${request.url}` },
    };
    return reply.code(404).send(body);
  });

  app.setErrorHandler(async (error, request, reply) => {
    deps.logger.error({ err: error, method: request.method, url: request.url }, 'Request failed');
    const body: HttpErrorBody = { error: { code: ERROR_CODES.internal, message: 'internal error' } };
    return reply.code(500).send(body);
  });

  app.get('/healthz', async () => ({ status: 'ok', instanceId: deps.instanceId }));

  app.get('/readyz', async (_request, reply) => {
    const report = await checkReadiness(deps.readiness);
    return reply.code(report.ready ? 200 : 503).send(report);
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await deps.renderMetrics();
    return reply.header('content-type', contentType).send(body);
  });

  registerStatusRoutes(app, deps.queries);
  return app;
}

export interface HttpServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bound port (useful with port 0); undefined before start. */
  port(): number | undefined;
}

/** Lifecycle wrapper: start() resolves once listening; stop() closes idle and in-flight connections. */
export function createHttpServer(
  app: FastifyInstance,
  host: string,
  port: number,
  logger: Logger,
): HttpServer {
  let listening = false;
  let boundPort: number | undefined;
  return {
    port: () => boundPort,
    async start() {
      if (listening) return;
      await app.listen({ host, port });
      listening = true;
      const address = app.server.address();
      boundPort = typeof address === 'object' && address ? address.port : port;
      logger.info({ host, port: boundPort }, 'HTTP server listening');
    },
    async stop() {
      if (!listening) {
        await app.close();
        return;
      }
      listening = false;
      await app.close();
      logger.info({}, 'HTTP server closed');
    },
  };
}
