/**
 * Broker answers that refuse a produce request for good: the same records are refused however often they
 * are sent (too large for the topic, not allowed, malformed), unlike a broker that is away or electing a
 * leader, which kafkajs marks retriable and the worker waits out.
 */
const PERMANENT_REFUSALS: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'POLICY_VIOLATION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'INVALID_TOPIC_EXCEPTION',
]);

/** The kafkajs error `type`s in an error and what it wraps (retries exhausted, aggregated, caused by). */
export function kafkaErrorTypes(error: unknown, depth = 0): string[] {
  if (depth > 5 || typeof error !== 'object' || error === null) return [];
  const candidate = error as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
  const own = typeof candidate.type === 'string' ? [candidate.type] : [];
  const wrapped = [
    candidate.originalError,
    candidate.cause,
    ...(Array.isArray(candidate.errors) ? candidate.errors : []),
  ];
  return [...own, ...wrapped.flatMap((inner) => kafkaErrorTypes(inner, depth + 1))];
}

/** True when a produce failed because the broker refuses these records for good. */
export function isPermanentBrokerRefusal(error: unknown): boolean {
  return kafkaErrorTypes(error).some((type) => PERMANENT_REFUSALS.has(type));
}
