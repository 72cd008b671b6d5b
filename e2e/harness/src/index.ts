/**
 * The harness of the distributed suite and the benchmark: worker replicas as processes or Compose
 * containers, the local stack's fault controls, the Kafka probe, the replicas' metrics and the paths the
 * runs write to. It imports nothing of the suite or the bench (eslint.config.mjs). driver-environment.ts
 * is not exported: it is a jest setup file, named by path in e2e/distributed/jest.e2e.config.cjs.
 */
export {
  KAFKA_BROKERS,
  REDIS_URL,
  integrationLogDir,
  mutantsReportDir,
  repoRoot,
  reportDir,
  workerEntry,
} from './paths';
export { LATE_EFFECTS_WINDOW_MS, WORKER_SESSION_PREFIX } from './worker-settings';
export {
  createWorkerCluster,
  type ClusterOptions,
  type Replica,
  type ReplicaExit,
  type ReplicaThrottling,
  type WorkerCluster,
} from './process-cluster';
export { findCpuController, type CpuController, type CpuThrottling } from './cpu-cap';
export { createComposeCluster } from './compose-cluster';
export { COMPOSE_PORTS } from './compose-endpoints';
export { composeInfraUp } from './compose-stack';
export { runStackOperation, stackFaults, type StackFaults } from './stack-control';
export {
  OUTPUT,
  committedOffsets,
  createOutputCollector,
  createRawProducer,
  createTestKafka,
  deleteTopicsWithPrefix,
  endOffsets,
  outputPartitionCounts,
  readTopic,
  uncommittedMessages,
  type ObservedMessage,
  type OutputCollector,
} from './kafka-probe';
export {
  createMetricsLedger,
  parseCounters,
  processKey,
  type CounterSample,
  type MemorySample,
  type MetricsLedger,
  type ProcessReading,
} from './metrics-ledger';
export { histogramQuantile, mergeHistogram, metricValues, subtractHistogram } from './prometheus-histogram';
export { measureStatusApiLoad, statusApiLoadProblems, type StatusApiLoad } from './status-api-load';
export { runReplayCommand } from './replay-command';
export { escapeHtml } from './html-escape';
