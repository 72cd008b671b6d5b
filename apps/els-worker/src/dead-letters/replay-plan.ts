import type { Admin } from 'kafkajs';
import { whileRetriable } from '../kafka/topic-admin';

/**
 * The plan of one replay, read from the broker before anything is consumed: the dead-letter topic's end
 * offsets (the snapshot the run stops at), each partition's start point, and the input topics' partition
 * counts. Also where a run is refused before it starts: a missing topic, or its cursor group in use.
 */

/** Where one partition of the dead-letter topic is read from and up to. */
export interface PartitionPlan {
  readonly partition: number;
  /** The next offset to handle; everything before it in the run's range is replayed or skipped. */
  next: bigint;
  /** The end offset snapshotted at the start: letters at or after it are left for the next run. */
  readonly end: bigint;
  done: boolean;
}

export interface ReplayPlan {
  readonly partitions: Map<number, PartitionPlan>;
  /** Letters between the start points and the snapshot. */
  readonly toRead: number;
  /** Partitions of each input topic, to check a letter's source partition still exists. */
  readonly inputPartitions: ReadonlyMap<string, number>;
}

export type ReplayPlanResult =
  | { readonly kind: 'plan'; readonly plan: ReplayPlan }
  | {
      readonly kind: 'refused';
      readonly reason: 'topic-missing' | 'concurrent-run';
      readonly message: string;
    };

export interface ReplayPlanOptions {
  readonly deadLetterTopic: string;
  readonly inputTopics: readonly string[];
  readonly cursorGroup: string;
  readonly fromBeginning: boolean;
  /** Refuse when the cursor group has members (a real run; a dry run reads in a group of its own). */
  readonly refuseActiveCursorGroup: boolean;
  /** Named in the refusal: how long a crashed run's membership lasts. */
  readonly sessionTimeoutMs: number;
}

/**
 * Where a partition's replay starts: its committed cursor, or its earliest retained letter when there is
 * no cursor, when `fromBeginning` asks for it, or when retention deleted letters below the cursor (they
 * are gone; start at what is left). Never past the snapshot's end (a cursor past it means the topic was
 * recreated; nothing is read then, rather than everything twice).
 */
export function startOffset(
  committed: bigint | undefined,
  low: bigint,
  end: bigint,
  fromBeginning: boolean,
): bigint {
  if (fromBeginning || committed === undefined || committed < low) return low;
  return committed > end ? end : committed;
}

export async function planReplay(admin: Admin, options: ReplayPlanOptions): Promise<ReplayPlanResult> {
  const { deadLetterTopic, cursorGroup } = options;
  const existing = new Set(await admin.listTopics());
  const missing = [deadLetterTopic, ...options.inputTopics].filter((name) => !existing.has(name));
  if (missing.length > 0) {
    return {
      kind: 'refused',
      reason: 'topic-missing',
      message: `topics ${missing.join(', ')} do not exist (run "main.js migrate" first)`,
    };
  }
  if (options.refuseActiveCursorGroup) {
    const { groups } = await admin.describeGroups([cursorGroup]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) {
      return {
        kind: 'refused',
        reason: 'concurrent-run',
        message: `a replay with the same filters is running (consumer group ${cursorGroup} has ${members} member(s)); wait for it, or after a crash for its session to expire (${options.sessionTimeoutMs / 1000} s)`,
      };
    }
  }
  // A partition the broker names a leader for may refuse offset reads for a moment (just created, or a
  // broker restarting): waited out rather than failing the run.
  const ends = await whileRetriable(`end offsets of ${deadLetterTopic}`, () =>
    admin.fetchTopicOffsets(deadLetterTopic),
  );
  const [cursor] = await whileRetriable(`offsets of consumer group ${cursorGroup}`, () =>
    admin.fetchOffsets({ groupId: cursorGroup, topics: [deadLetterTopic] }),
  );
  // kafkajs reports a partition without a committed offset as -1.
  const committed = new Map(
    (cursor?.partitions ?? [])
      .filter((entry) => BigInt(entry.offset) >= 0n)
      .map((entry) => [entry.partition, BigInt(entry.offset)]),
  );
  const partitions = new Map<number, PartitionPlan>();
  let toRead = 0;
  for (const { partition, low, high } of ends) {
    const end = BigInt(high);
    const next = startOffset(committed.get(partition), BigInt(low), end, options.fromBeginning);
    partitions.set(partition, { partition, next, end, done: next >= end });
    toRead += Number(end - next);
  }
  const metadata = await whileRetriable(`metadata of ${options.inputTopics.join(', ')}`, () =>
    admin.fetchTopicMetadata({ topics: [...options.inputTopics] }),
  );
  const inputPartitions = new Map(metadata.topics.map((entry) => [entry.name, entry.partitions.length]));
  return { kind: 'plan', plan: { partitions, toRead, inputPartitions } };
}
