/**
 * The event generator's programmatic API: workload plans, the producer, the sent log and the run output,
 * used by its CLI (apps/event-generator) and by the distributed suite.
 */
export { createSeededRandom } from './seeded-random';
export type { SeededRandom } from './seeded-random';
export { partitionForKey } from '@els/contracts';
export { workloadOptionsSchema, resolveWorkloadOptions } from './workload-options';
export type { WorkloadOptions, WorkloadOptionsInput } from './workload-options';
export {
  MALFORMED_CLASSES,
  MALFORMED_CLASS_CODES,
  OVERSIZED_VALUE_BYTES,
  buildMalformedMessage,
} from './malformed-message';
export type { MalformedClass, MalformedMessage, MalformedInput } from './malformed-message';
export { planWave, createPlan } from './workload-plan';
export { planTraceContext, INVALID_TRACEPARENT_EVERY, TRACESTATE_EVERY } from './trace-context-plan';
export type { PlannedTraceContext } from './trace-context-plan';
export type { PlannedSend, SendKind, BatchExpectation, WavePlan, WorkloadPlan } from './workload-plan';
export { systemClock } from './clock';
export type { Clock } from './clock';
export { createTokenBucket } from './token-bucket';
export type { TokenBucket, TokenBucketOptions } from './token-bucket';
export { createSentLogWriter, readSentLog } from './sent-log';
export type { SentLogLine, SentLogWriter } from './sent-log';
export {
  ensureInputTopics,
  waitForPartitionLeaders,
  DEFAULT_INPUT_TOPIC_MAX_MESSAGE_BYTES,
} from './topic-setup';
export type { InputTopicOptions, InputTopicsResult } from './topic-setup';
export { classifySendError } from './send-error';
export type { SendErrorClass } from './send-error';
export { produceWorkload, DEFAULT_PRODUCE_OPTIONS } from './workload-producer';
export type {
  ProduceOptions,
  ProduceDeps,
  ProduceProgress,
  ProduceSummary,
  ProduceResult,
} from './workload-producer';
export { openRunOutput, SENT_LOG_FILE, SUMMARY_FILE, EXPECTATIONS_FILE } from './run-output';
export type { RunOutput } from './run-output';
export { createGeneratorKafka, createGeneratorProducer } from './kafka-client';
export type { GeneratorKafkaOptions } from './kafka-client';
export { runHttpLoad, formatHttpLoad, DEFAULT_RECONNECT_RATE } from './http-load';
export type { HttpLoadOptions, HttpLoadResult } from './http-load';
