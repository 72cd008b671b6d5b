/**
 * The command line of `main.js replay-dead-letters`: parsed here, purely, so every bad argument is named
 * before anything connects to Kafka (exit 2), and the parse is unit-tested without a process.
 */

/** The options as given on the command line; topic names are resolved against the prefix later. */
export interface ReplayArguments {
  /** Error codes to replay (`--code`, repeatable or comma list); empty: every code. */
  readonly codes: readonly string[];
  /** Source topics as given (`--source-topic`, base or full name; repeatable or comma list); empty: all. */
  readonly sourceTopics: readonly string[];
  /** Only letters whose record timestamp is at or after this instant (ms since the epoch). */
  readonly sinceMs?: number;
  /** Only letters whose record timestamp is before this instant (ms since the epoch). */
  readonly untilMs?: number;
  /** Also replay letters of records that were themselves replays ("failed again after replay"). */
  readonly includeReplayed: boolean;
  /** Ignore this filter set's cursor and read the dead-letter topic from its earliest offset. */
  readonly fromBeginning: boolean;
  /** Read and filter, list what would be replayed; produce and commit nothing. */
  readonly dryRun: boolean;
}

export type ReplayArgumentsResult =
  | { readonly kind: 'help' }
  | { readonly kind: 'arguments'; readonly arguments: ReplayArguments }
  | { readonly kind: 'error'; readonly argument: string; readonly message: string };

export const REPLAY_USAGE = `Usage: main.js replay-dead-letters [options]

Produces the original key and value of dead letters back to their source topics (the worker's input
topics under ELS_TOPIC_PREFIX), with a header x-els-replay-of: <dead-letter topic>/<partition>/<offset>.
Reads the dead-letter topic up to its end offsets at the start, then stops. Running the same command
again replays nothing it already replayed (a cursor per filter set, see docs/guides/operate.md).

Options:
  --code <ELS_ERR_...>      only letters with this error code (repeatable, or a comma list)
  --source-topic <topic>    only letters from this input topic, base name or full name
                            (repeatable, or a comma list)
  --since <time>            only letters dead-lettered at or after this time
  --until <time>            only letters dead-lettered before this time
                            (ISO 8601 with a zone, e.g. 2025-03-01T08:00:00Z, or a date meaning 00:00 UTC)
  --include-replayed        also replay letters that failed again after a replay
  --from-beginning          ignore the cursor of this filter set; read from the earliest dead letter
  --dry-run                 read and filter, print one line per letter that would be replayed;
                            produce and commit nothing
  -h, --help                this text

Environment: ELS_KAFKA_BROKERS (required), ELS_TOPIC_PREFIX, ELS_LOG_LEVEL (default warn here).
Other ELS_ keys of the worker are accepted and checked but not used; no database or Redis is opened.

Output: progress lines on stderr; on stdout one line per listed letter, then a JSON summary line.
Exit codes: 0 done, 1 failed (what was replayed before stays replayed; run it again), 2 bad arguments
or configuration.`;

const CODE_PATTERN = /^ELS_ERR_[A-Z0-9_]+$/;
/** A Kafka topic name (the broker's own rule: 1-249 of letters, digits, '.', '_', '-'). */
const TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
/** ISO 8601: a date, optionally a time with minutes, seconds and fractions, then a zone (required with a time). */
const TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2}))?$/i;

const VALUE_OPTIONS = new Set(['--code', '--source-topic', '--since', '--until']);
const FLAG_OPTIONS = new Set(['--include-replayed', '--from-beginning', '--dry-run']);

/**
 * An ISO 8601 instant as ms since the epoch, or undefined when it is not one. A time must name its zone:
 * without one JavaScript reads it as the machine's local time, and an operator on another machine would
 * replay a different range. Impossible dates (February 30) are refused rather than rolled over.
 */
export function parseInstant(text: string): number | undefined {
  const match = TIME_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = Number(digits.slice(2));
    if (zh > 23 || zm > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (zh * 60 + zm);
  }
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  const utc = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps the years 0-99 to 1900-1999.
  utc.setUTCFullYear(y, mo - 1, d);
  utc.setUTCHours(h, mi, s, ms);
  return utc.getTime() - offsetMinutes * 60_000;
}

/** Splits a repeatable option's value on commas; blank items are an error of the caller's argument. */
function listItems(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}

/** Parses the arguments after `replay-dead-letters`. Never throws; the first bad argument is named. */
export function parseReplayArguments(argv: readonly string[]): ReplayArgumentsResult {
  const codes: string[] = [];
  const sourceTopics: string[] = [];
  let sinceMs: number | undefined;
  let untilMs: number | undefined;
  const flags = new Set<string>();
  const error = (argument: string, message: string): ReplayArgumentsResult => ({
    kind: 'error',
    argument,
    message,
  });

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '-h' || token === '--help') return { kind: 'help' };
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq > 0 ? token.slice(0, eq) : token;
    if (FLAG_OPTIONS.has(name)) {
      if (eq > 0) return error(name, `${name} takes no value`);
      flags.add(name);
      continue;
    }
    if (!VALUE_OPTIONS.has(name)) {
      return token.startsWith('-')
        ? error(token, `unknown option ${token} (see --help)`)
        : error(token, `unexpected argument "${token}" (options only, see --help)`);
    }
    let value: string;
    if (eq > 0) {
      value = token.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return error(name, `${name} needs a value`);
      value = next;
      i++;
    }
    switch (name) {
      case '--code':
        for (const code of listItems(value)) {
          if (!CODE_PATTERN.test(code)) {
            return error(name, `--code "${code}" is not an error code (ELS_ERR_ followed by A-Z, 0-9, _)`);
          }
          codes.push(code);
        }
        break;
      case '--source-topic':
        for (const topic of listItems(value)) {
          if (!TOPIC_PATTERN.test(topic)) {
            return error(name, `--source-topic "${topic}" is not a topic name`);
          }
          sourceTopics.push(topic);
        }
        break;
      case '--since':
      case '--until': {
        if ((name === '--since' ? sinceMs : untilMs) !== undefined)
          return error(name, `${name} is given twice`);
        const instant = parseInstant(value);
        if (instant === undefined) {
          return error(
            name,
            `${name} "${value}" is not an ISO 8601 time with a zone (e.g. 2025-03-01T08:00:00Z) or a date`,
          );
        }
        if (name === '--since') sinceMs = instant;
        else untilMs = instant;
        break;
      }
    }
  }
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) {
    return error('--until', '--until must be later than --since');
  }
  return {
    kind: 'arguments',
    arguments: {
      codes,
      sourceTopics,
      ...(sinceMs !== undefined ? { sinceMs } : {}),
      ...(untilMs !== undefined ? { untilMs } : {}),
      includeReplayed: flags.has('--include-replayed'),
      fromBeginning: flags.has('--from-beginning'),
      dryRun: flags.has('--dry-run'),
    },
  };
}
