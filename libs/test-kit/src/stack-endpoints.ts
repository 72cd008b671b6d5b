/**
 * The local stack's endpoints (`npm run stack -- up`) that integration tests connect to, overridable from
 * the environment (the distributed suite's Compose driver points them at its stack).
 */
export const TEST_SERVER_URL =
  process.env['ELS_TEST_DATABASE_SERVER_URL'] ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env['ELS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const TEST_KAFKA_BROKERS = (process.env['ELS_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
