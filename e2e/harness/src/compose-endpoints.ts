/**
 * Where the Compose driver's stack is reached from the host, and under which project name: the ports
 * infra/compose/distributed-test.yml publishes for this run (its *_HOST_PORT / *_PORT variables). No
 * imports: driver-environment.ts reads these before any module that reads the test endpoints is loaded.
 */
export const COMPOSE_PROJECT = process.env['E2E_COMPOSE_PROJECT'] ?? 'els-e2e';

export const COMPOSE_PORTS = {
  POSTGRES_HOST_PORT: 15432,
  REDIS_HOST_PORT: 16379,
  KAFKA_HOST_PORT: 29092,
  LB_HTTP_PORT: 18080,
  PROMETHEUS_PORT: 19090,
} as const;

/** The Compose file's PostgreSQL superuser (POSTGRES_USER/POSTGRES_PASSWORD of the postgres service). */
export const COMPOSE_POSTGRES_AUTH = 'els:els';

/** The test endpoints (ELS_TEST_*) pointing at the Compose stack's published ports. */
export const COMPOSE_TEST_ENDPOINTS = {
  ELS_TEST_DATABASE_SERVER_URL: `postgres://${COMPOSE_POSTGRES_AUTH}@127.0.0.1:${COMPOSE_PORTS.POSTGRES_HOST_PORT}`,
  ELS_TEST_REDIS_URL: `redis://127.0.0.1:${COMPOSE_PORTS.REDIS_HOST_PORT}`,
  ELS_TEST_KAFKA_BROKERS: `127.0.0.1:${COMPOSE_PORTS.KAFKA_HOST_PORT}`,
} as const;

/** The same services as the replicas inside the Compose network see them. */
export const COMPOSE_INNER_ENDPOINTS = {
  postgres: 'postgres:5432',
  redis: 'redis://redis:6379',
  kafka: 'kafka:9092',
} as const;
