import type { DeadLetterRecord, ReplayFilters, SkipReason } from './dead-letter-selection';

/** What `replay-dead-letters` tells the operator: counters, listed letters, and their text forms. */

export type SkipCounts = Readonly<Record<SkipReason, number>>;

export interface ReplayProgress {
  readonly phase: 'reading' | 'done' | 'failed';
  /** Partitions of the dead-letter topic, and how many have been read up to the snapshot. */
  readonly partitions: number;
  readonly partitionsDone: number;
  /** Letters between each partition's start point and its end offset at the start of the run. */
  readonly toRead: number;
  readonly read: number;
  /** Letters the filters (code, source topic, time range) let through. */
  readonly selected: number;
  /** Produced and acknowledged (in a dry run: would have been produced). */
  readonly replayed: number;
  readonly skipped: SkipCounts;
}

export interface ReplaySummary extends ReplayProgress {
  readonly dryRun: boolean;
  readonly fromBeginning: boolean;
  readonly deadLetterTopic: string;
  /** The consumer group whose committed offsets are this filter set's cursor. */
  readonly cursorGroup: string;
  readonly durationMs: number;
}

/** A letter the operator should see: every letter of a dry run's selection, and every one held back. */
export interface LetterListing {
  readonly action: 'would-replay' | 'failed-again-after-replay' | 'refused-source-topic' | 'reference-letter';
  readonly letter: DeadLetterRecord;
}

/** The listing action of a selected letter held back for `reason`. */
export const HELD_BACK_ACTIONS: Readonly<Record<SkipReason, LetterListing['action'] | undefined>> = {
  code: undefined,
  sourceTopic: undefined,
  timeRange: undefined,
  refusedSourceTopic: 'refused-source-topic',
  referenceLetter: 'reference-letter',
  failedAgainAfterReplay: 'failed-again-after-replay',
};

export function emptySkipCounts(): Record<SkipReason, number> {
  return {
    code: 0,
    sourceTopic: 0,
    timeRange: 0,
    refusedSourceTopic: 0,
    referenceLetter: 0,
    failedAgainAfterReplay: 0,
  };
}

/** Header text is someone else's bytes: control characters would break the one-line-per-letter output. */
function field(value: string | number | undefined): string {
  if (value === undefined || value === '') return '-';
  return String(value).replace(/[\p{Cc}\s]/gu, '?');
}

/**
 * One line per listed letter, tab-separated: action, source topic/partition/offset, error code, event id,
 * and where the letter itself is (dead-letter topic/partition/offset); `-` for a missing header.
 */
export function formatLetterLine(listing: LetterListing, deadLetterTopicName: string): string {
  const { letter } = listing;
  const source = `${field(letter.sourceTopic)}/${field(letter.sourcePartition)}/${field(letter.sourceOffset)}`;
  const columns = [
    listing.action,
    source,
    field(letter.code),
    field(letter.eventId),
    `${deadLetterTopicName}/${letter.partition}/${letter.offset}`,
  ];
  if (letter.replayOf !== undefined) columns.push(`replay-of=${letter.replayOf}`);
  if (letter.valueSha256 !== undefined) columns.push(`value-sha256=${field(letter.valueSha256)}`);
  return columns.join('\t');
}

/** The stderr progress line. */
export function formatProgressLine(progress: ReplayProgress, dryRun: boolean): string {
  const skipped = Object.entries(progress.skipped)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason}=${count}`);
  return [
    `replay-dead-letters${dryRun ? ' (dry run)' : ''}: ${progress.phase}`,
    `read ${progress.read}/${progress.toRead}`,
    `partitions ${progress.partitionsDone}/${progress.partitions}`,
    `selected ${progress.selected}`,
    `${dryRun ? 'would replay' : 'replayed'} ${progress.replayed}`,
    `skipped ${skipped.length > 0 ? skipped.join(' ') : 'none'}`,
  ].join(', ');
}

/** What the summary line says about the run besides its counts. */
export interface SummaryContext {
  readonly dryRun: boolean;
  readonly fromBeginning: boolean;
  readonly deadLetterTopic: string;
  readonly cursorGroup: string;
  readonly filters: ReplayFilters;
}

export type SummaryOutcome =
  | { readonly ok: true; readonly summary: ReplaySummary }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly error: string;
      readonly progress?: ReplayProgress;
    };

/**
 * The final stdout line: one JSON object, the outcome and the counts first (what a script reads), then
 * where and with which filters (times as ISO strings).
 */
export function formatSummaryLine(outcome: SummaryOutcome, context: SummaryContext): string {
  const counts = outcome.ok ? outcome.summary : outcome.progress;
  const { filters } = context;
  return JSON.stringify({
    ok: outcome.ok,
    ...(outcome.ok ? {} : { reason: outcome.reason, error: outcome.error }),
    dryRun: context.dryRun,
    read: counts?.read ?? 0,
    selected: counts?.selected ?? 0,
    replayed: counts?.replayed ?? 0,
    skipped: counts?.skipped ?? emptySkipCounts(),
    toRead: counts?.toRead ?? 0,
    partitions: counts?.partitions ?? 0,
    partitionsDone: counts?.partitionsDone ?? 0,
    fromBeginning: context.fromBeginning,
    deadLetterTopic: context.deadLetterTopic,
    cursorGroup: context.cursorGroup,
    filters: {
      codes: filters.codes,
      sourceTopics: filters.sourceTopics,
      since: filters.sinceMs !== undefined ? new Date(filters.sinceMs).toISOString() : null,
      until: filters.untilMs !== undefined ? new Date(filters.untilMs).toISOString() : null,
      includeReplayed: filters.includeReplayed,
    },
    ...(outcome.ok ? { durationMs: outcome.summary.durationMs } : {}),
  });
}
