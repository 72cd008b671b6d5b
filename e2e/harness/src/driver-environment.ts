import { COMPOSE_TEST_ENDPOINTS } from './compose-endpoints';

/**
 * Jest setup file of the distributed suite (e2e/distributed/jest.e2e.config.cjs): with `E2E_DRIVER=compose`, every test endpoint (database
 * server, Redis, Kafka) is the Compose stack's published port, set before any module reads them.
 */
if (process.env['E2E_DRIVER'] === 'compose') Object.assign(process.env, COMPOSE_TEST_ENDPOINTS);
