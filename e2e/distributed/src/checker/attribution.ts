import { WORKER_SESSION_PREFIX, type ObservedMessage } from '@els/harness';

/**
 * Which replica assigned each slot. The worker stamps every published event with `x-els-origin`, the
 * application_name of the session whose transaction wrote it (`els-worker-<instance id>`): the replica
 * that made the assignment, whichever replica's relay published it.
 */

export const ORIGIN_HEADER = 'x-els-origin';

/** The instance id in a record's origin header, or undefined when it has none. */
export function originOf(message: ObservedMessage): string | undefined {
  const origin = message.headers[ORIGIN_HEADER];
  if (origin === undefined || origin === '') return undefined;
  return origin.startsWith(WORKER_SESSION_PREFIX) ? origin.slice(WORKER_SESSION_PREFIX.length) : origin;
}

export interface Attribution {
  /** Slots assigned per replica instance id (`unknown`: a record without an origin header). */
  assignedByReplica: Record<string, number>;
  /** Per batch, the distinct replicas that assigned its slots. */
  replicasPerBatch: Record<string, string[]>;
}

/** Attributes distinct slot-assigned events (one per event id) to the replicas that made them. */
export function attributeAssignments(assignedEvents: readonly ObservedMessage[]): Attribution {
  const assignedByReplica: Record<string, number> = {};
  const perBatch = new Map<string, Set<string>>();
  for (const event of assignedEvents) {
    const replica = originOf(event) ?? 'unknown';
    assignedByReplica[replica] = (assignedByReplica[replica] ?? 0) + 1;
    const data = (event.value?.['data'] as Record<string, unknown> | undefined) ?? {};
    const batchId = String(data['batch_id']);
    const replicas = perBatch.get(batchId) ?? new Set<string>();
    replicas.add(replica);
    perBatch.set(batchId, replicas);
  }
  const replicasPerBatch = Object.fromEntries(
    [...perBatch].map(([batchId, replicas]) => [batchId, [...replicas].sort()]),
  );
  return { assignedByReplica, replicasPerBatch };
}

/**
 * Batches whose slots did not come from at least `min` replicas: where a scenario exists to make replicas
 * contend for one batch, a batch filled by a single replica proves nothing about contention.
 */
export function batchesFilledByFewReplicas(attribution: Attribution, min: number): string[] {
  return Object.entries(attribution.replicasPerBatch)
    .filter(([, replicas]) => replicas.length < min)
    .map(
      ([batchId, replicas]) => `${batchId} filled by ${replicas.length} replica(s): ${replicas.join(', ')}`,
    )
    .sort();
}
