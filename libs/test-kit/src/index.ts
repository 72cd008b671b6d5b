/**
 * The workspace's generic test helpers: waiting on named conditions, the local stack's endpoints, unique
 * Kafka names and the leak guard. Only test files and test entries may import this library (eslint.config.mjs).
 */
export { waitFor } from './wait-for';
export { TEST_SERVER_URL, TEST_REDIS_URL, TEST_KAFKA_BROKERS } from './stack-endpoints';
export { uniqueKafkaNames } from './kafka-names';
export { createLeakGuard } from './leak-guard';
