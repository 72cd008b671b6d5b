/**
 * The worker settings every replica of the suite runs with, under either driver (the run's endpoints,
 * topic prefix and group come on top, a scenario's own settings last).
 */
export const SUITE_WORKER_SETTINGS = {
  ELS_LOG_LEVEL: 'info',
  ELS_DB_POOL_MAX: '3',
  ELS_RETRY_MAX_BACKOFF_MS: '1000',
  // A row whose publish failed is tried again within 2 s: a late record (a re-publish, or a second event
  // a defect writes after the run looked clean) arrives within the window the checker keeps reading.
  ELS_RELAY_MAX_BACKOFF_MS: '2000',
  // The completion sweep is the safety net for a full batch no handler completed; on its own it is tested
  // by worker-faults/completion-sweep.int.test.ts. Here it runs when a replica starts and then every ten
  // minutes, so a completion the handlers miss shows as a missing completion, not as one a sweep delivers
  // seconds late.
  ELS_COMPLETION_SWEEP_INTERVAL_MS: '600000',
} as const;

/** The relay's poll interval the suite leaves at the worker's default (ELS_RELAY_POLL_INTERVAL_MS). */
const RELAY_POLL_INTERVAL_MS = 1000;

/**
 * How long the checker keeps reading after the run first looks clean: the relay's longest backoff plus
 * one poll, so a record the relay still owes (or a late duplicate) is seen before the verdict.
 */
export const LATE_EFFECTS_WINDOW_MS =
  Number(SUITE_WORKER_SETTINGS.ELS_RELAY_MAX_BACKOFF_MS) + RELAY_POLL_INTERVAL_MS;

/**
 * The `application_name` prefix of the worker's database sessions (`els-worker-<instance id>`, apps/els-worker
 * main.ts): how the suite and the bench find a replica's sessions and read the `x-els-origin` header.
 */
export const WORKER_SESSION_PREFIX = 'els-worker-';
