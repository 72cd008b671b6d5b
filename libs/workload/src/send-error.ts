/** How the producer should react to a failed send. */
export type SendErrorClass = 'too-large' | 'retriable' | 'fatal';

interface KafkaLikeError {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

const RETRIABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSNumberOfRetriesExceeded',
]);

function causesOf(error: unknown): unknown[] {
  if (typeof error !== 'object' || error === null) return [error];
  const e = error as KafkaLikeError;
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])].filter(
    (inner) => inner !== undefined && inner !== error,
  );
  return [error, ...nested.flatMap(causesOf)];
}

/**
 * Reads the kafkajs error chain: a refused oversized message is final for that message; broker or
 * network trouble (a broker restart during a fault scenario) is retried; anything else stops the run.
 * kafkajs gives up after its own retries with KafkaJSNumberOfRetriesExceeded, which is retried here too.
 */
export function classifySendError(error: unknown): SendErrorClass {
  const chain = causesOf(error).filter((e): e is KafkaLikeError => typeof e === 'object' && e !== null);
  if (chain.some((e) => e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE')) {
    return 'too-large';
  }
  if (chain.some((e) => e.retriable === true || RETRIABLE_NAMES.has(String(e.name)))) return 'retriable';
  return 'fatal';
}
