import path from 'node:path';

/** Repository root, from this file's place in e2e/harness/src. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/**
 * The built worker bundle (`npx nx run els-worker:build`); `E2E_WORKER_ENTRY` runs the suite against
 * another build (the mutation self-test points it at a mutant's bundle).
 */
export const workerEntry =
  process.env['E2E_WORKER_ENTRY'] ?? path.join(repoRoot, 'dist', 'apps', 'els-worker', 'main.js');

/** The local stack script whose exports inject PostgreSQL, Redis and Kafka faults. */
export const stackScript = path.join(repoRoot, 'infra', 'local', 'stack.mjs');

/** Where the distributed run writes report.json, report.html and the replica logs (`E2E_REPORT_DIR`). */
export const reportDir = process.env['E2E_REPORT_DIR']
  ? path.resolve(process.env['E2E_REPORT_DIR'])
  : path.join(repoRoot, 'dist', 'reports', 'distributed');

/** Where the mutation self-test writes its report and each mutant's run. */
export const mutantsReportDir = path.join(repoRoot, 'dist', 'reports', 'mutants');

/** Where the fault integration tests keep their replica logs. */
export const integrationLogDir = path.join(repoRoot, 'dist', 'reports', 'worker-faults');

export const KAFKA_BROKERS = (process.env['ELS_TEST_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
export const REDIS_URL = process.env['ELS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
