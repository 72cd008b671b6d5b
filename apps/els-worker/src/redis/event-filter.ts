import { Redis } from 'ioredis';
import type { Logger } from '../logger';

/**
 * Event-id pre-filter: a fast "seen before" check in front of the database. It is an optimisation only
 * (invariant 9): ids are marked only after their database transaction committed, so a hit is always safe
 * to skip, and a miss, an error or an outage simply leaves the work to the database's own idempotency.
 */
export interface EventFilter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The subset of `eventIds` already processed. Never throws: on any Redis error it returns an empty set. */
  filterSeen(eventIds: readonly string[]): Promise<Set<string>>;
  /** Records committed event ids. Never throws. */
  markSeen(eventIds: readonly string[]): Promise<void>;
  /** True while Redis is failing; the worker keeps working on database guarantees alone. */
  degraded(): boolean;
}

export interface EventFilterOptions {
  url: string;
  /**
   * Scope of the seen-ids: `<deployment id>/<consumer group>/<topic prefix>` (see `filterNamespace`).
   * Event ids are unique per logical event, but two deployments sharing one Redis (environments, test
   * runs, a replayed workload) must never skip each other's events, and a recreated database must never
   * inherit the marks of its predecessor (invariant 9). A function is called once by start(), so the
   * worker can read the deployment id from the database first.
   */
  namespace: string | (() => string);
  ttlS: number;
  logger: Logger;
  /** CLIENT SETNAME of the connection, so an operator can find it in CLIENT LIST. */
  connectionName?: string;
  commandTimeoutMs?: number;
  pingIntervalMs?: number;
  onDegradedChange?: (degraded: boolean) => void;
  onLookup?: (durationMs: number) => void;
}

export const SEEN_KEY_PREFIX = 'els:seen:';

/** The pre-filter scope of one deployment: the database's identity, then the Kafka names. */
export function filterNamespace(deploymentId: string, consumerGroup: string, topicPrefix: string): string {
  return `${deploymentId}/${consumerGroup}/${topicPrefix}`;
}

/** `els:seen:<namespace>:<event_id>` */
export function seenKey(namespace: string, eventId: string): string {
  return `${SEEN_KEY_PREFIX}${namespace}:${eventId}`;
}

export function createEventFilter(options: EventFilterOptions): EventFilter {
  const { logger } = options;
  const pingIntervalMs = options.pingIntervalMs ?? 1000;
  let client: Redis | undefined;
  let namespace: string | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  // Degraded until the first answer: a worker that never reached Redis must not claim it is fine.
  let isDegraded = true;

  function setDegraded(value: boolean, error?: unknown) {
    if (value === isDegraded) return;
    isDegraded = value;
    if (value) logger.warn({ err: error }, 'Redis unavailable, continuing on database guarantees alone');
    else logger.info({}, 'Redis available');
    options.onDegradedChange?.(value);
  }

  async function ping() {
    if (!client) return;
    try {
      await client.ping();
      setDegraded(false);
    } catch (error) {
      setDegraded(true, error);
    }
  }

  return {
    degraded: () => isDegraded,
    async start() {
      if (client) return;
      namespace = typeof options.namespace === 'function' ? options.namespace() : options.namespace;
      options.onDegradedChange?.(true);
      const created = new Redis(options.url, {
        lazyConnect: true,
        connectionName: options.connectionName,
        enableOfflineQueue: false,
        commandTimeout: options.commandTimeoutMs ?? 250,
        maxRetriesPerRequest: 0,
        connectTimeout: 2000,
        disconnectTimeout: 200,
        retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
      });
      // Without a listener ioredis reports every failed reconnect as an unhandled error event.
      created.on('error', (error: Error) => setDegraded(true, error));
      // A dropped connection means every lookup fails until ioredis has reconnected and Redis answers.
      created.on('close', () => {
        if (client === created) setDegraded(true, new Error('connection closed'));
      });
      created.on('ready', () => void ping());
      client = created;
      try {
        await client.connect();
      } catch (error) {
        setDegraded(true, error);
      }
      await ping();
      pingTimer = setInterval(() => void ping(), pingIntervalMs);
      pingTimer.unref();
    },
    async stop() {
      if (pingTimer) clearInterval(pingTimer);
      pingTimer = undefined;
      const current = client;
      client = undefined;
      if (!current) return;
      const ended = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        current.once('end', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      try {
        if (current.status === 'ready') await current.quit();
        else current.disconnect();
      } catch {
        current.disconnect();
      }
      if (current.status !== 'end') await ended;
    },
    async filterSeen(eventIds) {
      const seen = new Set<string>();
      const scope = namespace;
      if (!client || scope === undefined || eventIds.length === 0 || isDegraded) return seen;
      const started = performance.now();
      try {
        const values = await client.mget(eventIds.map((id) => seenKey(scope, id)));
        values.forEach((value, index) => {
          const id = eventIds[index];
          if (value !== null && id !== undefined) seen.add(id);
        });
        options.onLookup?.(performance.now() - started);
      } catch (error) {
        setDegraded(true, error);
      }
      return seen;
    },
    async markSeen(eventIds) {
      const scope = namespace;
      if (!client || scope === undefined || eventIds.length === 0 || isDegraded) return;
      try {
        const pipeline = client.pipeline();
        for (const id of eventIds) pipeline.set(seenKey(scope, id), '1', 'EX', options.ttlS);
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error !== null);
        if (failed) setDegraded(true, failed[0]);
      } catch (error) {
        setDegraded(true, error);
      }
    },
  };
}
