import type { RetryingMessage } from '../consumer/retry-tracker';
import type { DatabaseProbe } from '../coordination-port';

export interface ReadinessReport {
  ready: boolean;
  instanceId: string;
  dependencies: {
    /** Not ok when unreachable or read-only (its transactions refuse writes: a standby, a failover). */
    database: { ok: boolean; readOnly: boolean };
    schema: { ok: boolean; applied: number; expected: number };
    kafka: { ok: boolean; joined: boolean };
    redis: { ok: boolean; degraded: boolean };
  };
  /**
   * The messages waiting in a retry now, oldest first. Not ok once one has been retrying for longer than
   * `maxRetryMs` (0: reported only): a stuck partition makes the replica unready.
   */
  retrying: { ok: boolean; maxRetryMs: number; messages: RetryingMessage[] };
}

export interface ReadinessProbes {
  instanceId: string;
  database: DatabaseProbe;
  consumerJoined(): boolean;
  redisDegraded(): boolean;
  /** The messages waiting in a retry (none when not given). */
  retrying?(): RetryingMessage[];
  /** `ELS_READY_MAX_RETRY_MS`: longest retry that keeps the replica ready; 0 only reports (default). */
  maxRetryMs?: number;
  /** Told what the database ping found, so metrics and the write probe's state follow readiness too. */
  onDatabaseState?(state: 'writable' | 'read-only' | 'unavailable'): void;
  /** A probe slower than this counts as failed, so /readyz answers while PostgreSQL hangs. */
  timeoutMs?: number;
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`probe timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ready = database reachable and writable, schema current, consumer in its group, no message retrying for longer than
 * `maxRetryMs`. A degraded Redis is reported but does
 * not make the replica unready: the database guarantees alone are enough to keep working (invariant 9).
 */
export async function checkReadiness(probes: ReadinessProbes): Promise<ReadinessReport> {
  const timeoutMs = probes.timeoutMs ?? 2000;
  const ping = await withTimeout(probes.database.ping(), timeoutMs).then(
    (answer) => ({ reachable: true, readOnly: answer.readOnly }),
    () => ({ reachable: false, readOnly: false }),
  );
  probes.onDatabaseState?.(!ping.reachable ? 'unavailable' : ping.readOnly ? 'read-only' : 'writable');
  const database = ping.reachable && !ping.readOnly;
  const schema = ping.reachable
    ? await withTimeout(probes.database.schemaStatus(), timeoutMs).then(
        (status) => ({ ok: status.current, applied: status.applied, expected: status.expected }),
        () => ({ ok: false, applied: 0, expected: 0 }),
      )
    : { ok: false, applied: 0, expected: 0 };
  const joined = probes.consumerJoined();
  const degraded = probes.redisDegraded();
  const maxRetryMs = probes.maxRetryMs ?? 0;
  const messages = probes.retrying?.() ?? [];
  const retryingOk = maxRetryMs === 0 || messages.every((message) => message.ageMs <= maxRetryMs);
  return {
    ready: database && schema.ok && joined && retryingOk,
    instanceId: probes.instanceId,
    dependencies: {
      database: { ok: database, readOnly: ping.readOnly },
      schema,
      kafka: { ok: joined, joined },
      redis: { ok: !degraded, degraded },
    },
    retrying: { ok: retryingOk, maxRetryMs, messages },
  };
}
