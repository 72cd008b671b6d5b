import { ERROR_CODES, type RelayEvent, type SweeperEvent } from '@els/coordination';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatabaseState } from './database-health';
import type { ProcessorEvent } from './consumer/processor-events';

/**
 * The codes a retry can carry, each exported at 0 from the start: a labelled counter has no series until
 * its first increment, so a dashboard panel or alert over it would show "no data" in a healthy deployment.
 */
export const RETRY_REASONS: readonly string[] = [
  ERROR_CODES.databaseUnavailable,
  ERROR_CODES.databaseReadOnly,
  ERROR_CODES.databaseConflict,
  ERROR_CODES.internal,
  ERROR_CODES.brokerUnavailable,
  ERROR_CODES.deadLetterRefused,
];

const DATABASE_STATES: readonly DatabaseState[] = ['writable', 'read-only', 'unavailable'];
/** Label value of a database state (Prometheus label values conventionally use underscores). */
const stateLabel = (state: DatabaseState) => state.replace('-', '_');

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * How often Node's event-loop delay monitor samples (prom-client's default is 10 ms). Each sample wakes the
 * event loop: at 10 ms an idle replica woke a hundred times a second for it, about 0.4 % of a core. The
 * `nodejs_eventloop_lag_*` gauges are the monitor's sampling intervals, so they read this resolution
 * plus the lateness (an idle replica's p99 is about 100 ms; lateness is p99 minus min).
 */
export const EVENT_LOOP_MONITOR_RESOLUTION_MS = 100;

/**
 * The worker's Prometheus metrics on a private registry (no global state, so tests can build many).
 * Updated only by subscribing to processor, relay and component events. No batch or essay ids as labels.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    eventLoopMonitoringPrecision: EVENT_LOOP_MONITOR_RESOLUTION_MS,
  });
  const registers = [registry];

  const m = {
    slotAssignments: new Counter({
      name: 'els_slot_assignments_total',
      help: 'Texts assigned to a slot, by path (content: on arrival; pending: when its batch registered).',
      labelNames: ['path'],
      registers,
    }),
    duplicates: new Counter({
      name: 'els_duplicate_events_total',
      help: 'Redelivered events acknowledged without effect, by where they were recognised.',
      labelNames: ['source'],
      registers,
    }),
    excess: new Counter({
      name: 'els_excess_reports_total',
      help: 'Texts reported as excess (no slot left in their batch).',
      registers,
    }),
    pending: new Counter({
      name: 'els_pending_content_total',
      help: 'Texts stored as pending because their batch was not registered yet.',
      registers,
    }),
    validationFailures: new Counter({
      name: 'els_validation_failures_total',
      help: 'Validation failures handled, by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    completions: new Counter({
      name: 'els_batch_completions_total',
      help: 'Batches this replica completed (one completion event each): by the handler that found the batch full (its last slot resolved, or a redelivered or excess input) or by the completion sweep.',
      registers,
    }),
    deadLetters: new Counter({
      name: 'els_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by error code.',
      labelNames: ['code'],
      registers,
    }),
    handlerDuration: new Histogram({
      name: 'els_handler_duration_seconds',
      help: 'Duration of one handler call as the consumer sees it (a content call may wait for a shared transaction).',
      labelNames: ['event'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    fetchDelay: new Histogram({
      name: 'els_fetch_delay_seconds',
      help: "Time from a record's timestamp to the worker starting on it (broker, fetch wait, earlier batches).",
      labelNames: ['event'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    settledDelay: new Histogram({
      name: 'els_event_settled_delay_seconds',
      help: "Time from a record's timestamp to its outcome committed and its offset resolved.",
      labelNames: ['event'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    contentTransactionDuration: new Histogram({
      name: 'els_content_transaction_duration_seconds',
      help: 'Duration of one content database transaction (the content runs of several partitions may share it; a text that had to wait for a slot follows in a transaction of its own, within the same observation).',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    contentTransactionEvents: new Histogram({
      name: 'els_content_transaction_events',
      help: 'Content events handled by one committed content database transaction.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
      registers,
    }),
    consumed: new Counter({
      name: 'els_events_consumed_total',
      help: 'Input messages fetched, by event (invalid: did not parse).',
      labelNames: ['event'],
      registers,
    }),
    retries: new Counter({
      name: 'els_retries_total',
      help: 'Retries of a retriable failure, by error code.',
      labelNames: ['reason'],
      registers,
    }),
    outboxBacklog: new Gauge({
      name: 'els_outbox_backlog_rows',
      help: 'Unpublished outbox rows.',
      registers,
    }),
    outboxOldestAge: new Gauge({
      name: 'els_outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished outbox row.',
      registers,
    }),
    outboxPublishLag: new Histogram({
      name: 'els_outbox_publish_lag_seconds',
      help: 'Time from outbox insert to publication.',
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    outboxPublished: new Counter({
      name: 'els_outbox_published_total',
      help: 'Outbox rows published by this replica.',
      registers,
    }),
    outboxPublishFailures: new Counter({
      name: 'els_outbox_publish_failures_total',
      help: 'Outbox rows whose publication failed (retried later).',
      registers,
    }),
    consumerLag: new Gauge({
      name: 'els_consumer_lag_messages',
      help: 'Messages behind the high watermark on the partitions this replica consumes, by topic.',
      labelNames: ['topic'],
      registers,
    }),
    groupJoined: new Gauge({
      name: 'els_consumer_group_joined',
      help: '1 while this replica is a member of its consumer group.',
      registers,
    }),
    redisDegraded: new Gauge({
      name: 'els_redis_degraded',
      help: '1 while Redis is unavailable and only the database de-duplicates.',
      registers,
    }),
    databaseState: new Gauge({
      name: 'els_database_state',
      help: 'What the replica last learned of its database (write probe, readiness): 1 on the current state (writable, read_only, unavailable).',
      labelNames: ['state'],
      registers,
    }),
    writeProbes: new Counter({
      name: 'els_database_write_probes_total',
      help: 'Write probes run before dead-lettering a message for a failure that is not a known outage, by what they found.',
      labelNames: ['result'],
      registers,
    }),
    deadLettersRefused: new Counter({
      name: 'els_dead_letters_refused_total',
      help: 'Letters the dead-letter topic refused for good, by outcome (reference: written without the value; stopped: the partition stops at the message).',
      labelNames: ['outcome'],
      registers,
    }),
    redisPrefilterDuration: new Histogram({
      name: 'els_redis_prefilter_duration_seconds',
      help: 'Duration of one Redis pre-filter lookup.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    }),
  };
  const partitionLag = new Map<string, Map<number, number>>();

  // Messages waiting in a retry: read from the retry tracker when scraped, so the age is current.
  let retrying: () => readonly { messages: number; ageMs: number }[] = () => [];
  new Gauge({
    name: 'els_messages_in_retry',
    help: 'Messages whose handling failed and is being retried now (a stuck partition shows here).',
    registers,
    collect() {
      this.set(retrying().reduce((sum, entry) => sum + entry.messages, 0));
    },
  });
  new Gauge({
    name: 'els_retry_oldest_age_seconds',
    help: 'How long the message waiting longest in a retry has been failing (0 when none).',
    registers,
    collect() {
      this.set(retrying().reduce((oldest, entry) => Math.max(oldest, entry.ageMs), 0) / 1000);
    },
  });

  for (const reason of RETRY_REASONS) m.retries.inc({ reason }, 0);
  for (const state of DATABASE_STATES) {
    m.databaseState.set({ state: stateLabel(state) }, 0);
    m.writeProbes.inc({ result: stateLabel(state) }, 0);
  }
  for (const outcome of ['reference', 'stopped']) m.deadLettersRefused.inc({ outcome }, 0);

  function observeProcessor(event: ProcessorEvent): void {
    switch (event.type) {
      case 'consumed':
        m.consumed.inc({ event: event.event });
        if (event.waitedMs !== undefined) m.fetchDelay.observe({ event: event.event }, event.waitedMs / 1000);
        return;
      case 'settled':
        for (const ageMs of event.agesMs) m.settledDelay.observe({ event: event.event }, ageMs / 1000);
        return;
      case 'filtered':
        m.duplicates.inc({ source: 'redis' }, event.count);
        return;
      case 'dead-lettered':
        m.deadLetters.inc({ code: event.code });
        return;
      case 'dead-letter-refused':
        m.deadLettersRefused.inc({ outcome: event.outcome });
        return;
      case 'retry':
        m.retries.inc({ reason: event.reason });
        return;
      case 'registration-handled': {
        m.handlerDuration.observe({ event: 'registration' }, event.durationMs / 1000);
        const outcome = event.outcome;
        if (outcome.kind === 'duplicate') m.duplicates.inc({ source: 'database' });
        if (outcome.kind !== 'conflict' && outcome.completed) m.completions.inc();
        if (outcome.kind !== 'registered') return;
        if (outcome.assignedFromPending > 0)
          m.slotAssignments.inc({ path: 'pending' }, outcome.assignedFromPending);
        if (outcome.excessFromPending > 0) m.excess.inc(outcome.excessFromPending);
        if (outcome.failedFromPending > 0)
          m.validationFailures.inc({ outcome: 'slot-failed-from-pending' }, outcome.failedFromPending);
        return;
      }
      case 'content-handled':
        m.handlerDuration.observe({ event: 'content' }, event.durationMs / 1000);
        for (const outcome of event.outcomes) {
          if (outcome.kind === 'assigned') m.slotAssignments.inc({ path: 'content' });
          else if (outcome.kind === 'duplicate') m.duplicates.inc({ source: 'database' });
          else if (outcome.kind === 'excess') m.excess.inc();
          else m.pending.inc();
          // Whichever outcome of the batch this call reports the completion on (see ContentOutcome).
          if (outcome.kind !== 'pending' && outcome.completed) m.completions.inc();
        }
        return;
      case 'validation-failure-handled':
        m.handlerDuration.observe({ event: 'validation_failure' }, event.durationMs / 1000);
        if (event.outcome.kind === 'duplicate') m.duplicates.inc({ source: 'database' });
        else m.validationFailures.inc({ outcome: event.outcome.kind });
        if (event.outcome.kind !== 'pending' && event.outcome.completed) m.completions.inc();
        return;
    }
  }

  // The outbox sweeper: table size by state (published rows are an estimate from the table statistics).
  const outboxRows = new Gauge({
    name: 'els_outbox_rows',
    help: 'Outbox rows by state, after the last prune pass (published: estimated from table statistics).',
    labelNames: ['state'],
    registers,
  });
  const outboxPruned = new Counter({
    name: 'els_outbox_pruned_total',
    help: 'Published outbox rows deleted by this replica after their retention.',
    registers,
  });

  function observeSweeper(event: SweeperEvent): void {
    if (event.type === 'pruned') {
      outboxPruned.inc(event.count);
    } else {
      outboxRows.set({ state: 'published' }, event.published);
      outboxRows.set({ state: 'unpublished' }, event.unpublished);
    }
  }

  function observeRelay(event: RelayEvent): void {
    if (event.type === 'published') {
      m.outboxPublished.inc(event.count);
      for (const lagMs of event.lagMs) m.outboxPublishLag.observe(lagMs / 1000);
    } else if (event.type === 'publish-failed') {
      m.outboxPublishFailures.inc(event.count);
    } else {
      m.outboxBacklog.set(event.rows);
      m.outboxOldestAge.set(event.oldestAgeMs / 1000);
    }
  }

  function observeConsumerLag(topic: string, partition: number, lag: number): void {
    const partitions = partitionLag.get(topic) ?? new Map<number, number>();
    partitions.set(partition, lag);
    partitionLag.set(topic, partitions);
    let total = 0;
    for (const value of partitions.values()) total += value;
    m.consumerLag.set({ topic }, total);
  }

  return {
    registry,
    /** Where the retry gauges read the messages waiting in a retry. */
    observeRetrying(list: () => readonly { messages: number; ageMs: number }[]): void {
      retrying = list;
    },
    observeProcessor,
    observeRelay,
    observeSweeper,
    /** The completion sweep completed `count` batches. */
    observeSweptCompletions(count: number): void {
      m.completions.inc(count);
    },
    observeConsumerLag,
    observeGroupMembership(joined: boolean): void {
      m.groupJoined.set(joined ? 1 : 0);
      // Partitions may move on every rebalance; lag of partitions owned before is no longer ours to report.
      partitionLag.clear();
      m.consumerLag.reset();
    },
    observeContentTransaction(call: { durationMs: number; events: number; ok: boolean }): void {
      m.contentTransactionDuration.observe(
        { outcome: call.ok ? 'committed' : 'failed' },
        call.durationMs / 1000,
      );
      if (call.ok) m.contentTransactionEvents.observe(call.events);
    },
    observeRedisDegraded: (degraded: boolean) => m.redisDegraded.set(degraded ? 1 : 0),
    observeDatabaseState(current: DatabaseState): void {
      for (const state of DATABASE_STATES)
        m.databaseState.set({ state: stateLabel(state) }, state === current ? 1 : 0);
    },
    observeWriteProbe: (result: DatabaseState) => m.writeProbes.inc({ result: stateLabel(result) }),
    observeRedisLookup: (durationMs: number) => m.redisPrefilterDuration.observe(durationMs / 1000),
    /** The exposition text and its content type, for GET /metrics. */
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createMetrics>;
