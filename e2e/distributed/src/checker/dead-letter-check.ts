import { createHash } from 'node:crypto';
import { CONTRACT_ERROR_CODES, TOPICS } from '@els/contracts';
import { MALFORMED_CLASS_CODES, type SentLogLine } from '@els/workload';
import type { ObservedMessage } from '@els/harness';
import { textKey, type HistoryIndex } from '../history/history-index';

/**
 * What a run that replays its dead letters (scenario 9) tells the checker: which valid texts its database
 * refused on purpose, and whether the replay has run yet.
 */
export interface DeadLetterReplay {
  /** `batch/text` of the texts a trigger refused until the replay: their dead letters are expected. */
  refusedTexts: ReadonlySet<string>;
  /** The code a refused text's dead letter carries. */
  refusedCode: string;
  /** Set once every dead letter of the run has been produced back: each must have its outcome then. */
  replayed: boolean;
}

export interface DeadLetterCheck {
  /** Distinct inputs dead-lettered (a replay's second dead letter of one input counts with the first). */
  deadLetters: number;
  malformedSent: number;
  /** Dead letters of replayed records (they carry `x-els-replay-of`). */
  replayLetters: number;
  deadLetterErrors: string[];
}

/** The header a replayed record carries, naming the dead letter it was replayed from. */
export const REPLAY_OF_HEADER = 'x-els-replay-of';

const at = (topic: string, partition: number | string, offset: string) => `${topic}[${partition}]@${offset}`;

/** The `<partition>/<offset>` of the dead letter a replay header names (`<topic>/<partition>/<offset>`). */
function replayedLetterOf(header: string): string {
  const parts = header.split('/');
  return parts.slice(-2).join('/');
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * A dead letter against its input: the same key, the same value bytes (or, for a reference letter the
 * dead-letter topic refused with its value, their hash and size in its headers), and every header an
 * operator needs, with the input's event id when it names one.
 */
function letterFieldErrors(letter: ObservedMessage, line: SentLogLine): string[] {
  const problems: string[] = [];
  if (letter.key !== line.key) problems.push(`key ${String(letter.key)}, the input's ${line.key}`);
  const referenceSha = letter.headers['x-els-value-sha256'];
  const sha = referenceSha ?? sha256(letter.raw);
  const bytes = referenceSha === undefined ? letter.raw.length : Number(letter.headers['x-els-value-bytes']);
  if (line.valueSha256 !== undefined && (sha !== line.valueSha256 || bytes !== line.valueBytes)) {
    problems.push(
      `${referenceSha === undefined ? 'value' : 'reference letter'}: ${bytes} bytes, not the ${line.valueBytes} bytes sent`,
    );
  }
  for (const header of ['x-els-error-code', 'x-els-error-message']) {
    if (!letter.headers[header]) problems.push(`no ${header} header`);
  }
  const eventId = letter.headers['x-els-event-id'];
  if (eventId !== undefined && eventId !== line.eventId) {
    problems.push(`x-els-event-id ${eventId}, the input's ${String(line.eventId)}`);
  }
  return problems;
}

/**
 * Dead letters matched to their inputs by the source topic, partition and offset headers: one per
 * malformed input, carrying the code of its class; none for valid input (but for texts the run refused on
 * purpose, with their code). Several dead letters of one input are re-publishes (at-least-once) and count
 * once. A dead letter whose source the sent log does not name is an error, unless a send to that
 * topic-partition was retried (an earlier attempt may have written the message at an offset the
 * acknowledgement never named) and the letter is a malformed one.
 *
 * After a replay, the dead letter of a replayed record names the letter it came from (`x-els-replay-of`):
 * it must be of a malformed input, with the same code and the same bytes as the first; every malformed
 * input's letter must have one; a refused text's replay must not fail again.
 */
export function checkDeadLetters(index: HistoryIndex, replay?: DeadLetterReplay): DeadLetterCheck {
  const errors: string[] = [];
  const byOffset = new Map<string, SentLogLine>();
  for (const line of index.delivered) {
    if (line.offset !== null) byOffset.set(at(line.topic, line.partition, line.offset), line);
  }
  const malformed = index.delivered.filter((line) => line.kind === 'malformed');
  const retriedPartitions = new Set(
    index.delivered.filter((line) => line.attempts > 1).map((line) => `${line.topic}[${line.partition}]`),
  );
  const letters = index.recordsOf(TOPICS.deadLetter);
  const replays = letters.filter((letter) => letter.headers[REPLAY_OF_HEADER] !== undefined);
  /** First-generation letters by `<partition>/<offset>`, with the input each one is of. */
  const originals = new Map<string, { letter: ObservedMessage; line: SentLogLine | undefined }>();
  const lettered = new Set<string>();
  for (const letter of letters) {
    if (letter.headers[REPLAY_OF_HEADER] !== undefined) continue;
    const source = at(
      letter.headers['x-els-source-topic'] ?? '?',
      letter.headers['x-els-source-partition'] ?? '?',
      letter.headers['x-els-source-offset'] ?? '?',
    );
    const code = letter.headers['x-els-error-code'] ?? 'no code';
    const line = byOffset.get(source);
    originals.set(`${letter.partition}/${letter.offset}`, { letter, line });
    if (!line) {
      const partition = source.slice(0, source.lastIndexOf('@'));
      const contractCode = (Object.values(CONTRACT_ERROR_CODES) as string[]).includes(code);
      if (!(retriedPartitions.has(partition) && contractCode)) {
        errors.push(`dead letter of ${source} (${code}): the generator sent nothing there`);
      }
      continue;
    }
    lettered.add(source);
    for (const problem of letterFieldErrors(letter, line))
      errors.push(`dead letter of ${source} (${code}): ${problem}`);
    const refused =
      line.kind === 'content' &&
      line.textStorageId !== null &&
      replay?.refusedTexts.has(textKey(line.batchId, line.textStorageId));
    if (refused) {
      if (code !== replay?.refusedCode) {
        errors.push(`dead letter of ${source} (${code}): a refused text expects ${replay?.refusedCode}`);
      }
    } else if (line.kind !== 'malformed') {
      errors.push(`dead letter of ${source} (${code}): a valid ${line.kind} of ${line.batchId}`);
    } else if (line.malformedClass && code !== MALFORMED_CLASS_CODES[line.malformedClass]) {
      errors.push(
        `dead letter of ${source} (${code}): ${line.malformedClass} expects ${MALFORMED_CLASS_CODES[line.malformedClass]}`,
      );
    }
  }
  const failedAgain = new Set<string>();
  for (const letter of replays) {
    const replayOf = letter.headers[REPLAY_OF_HEADER] ?? '';
    const code = letter.headers['x-els-error-code'] ?? 'no code';
    const original = originals.get(replayedLetterOf(replayOf));
    const what = `dead letter of the replay of ${replayOf} (${code})`;
    if (!original) {
      errors.push(`${what}: the run has no such dead letter`);
      continue;
    }
    failedAgain.add(replayedLetterOf(replayOf));
    const firstCode = original.letter.headers['x-els-error-code'] ?? 'no code';
    if (original.line?.kind !== 'malformed') {
      errors.push(`${what}: the replay of a valid input failed again`);
    } else if (code !== firstCode) {
      errors.push(`${what}: the first dead letter had ${firstCode}`);
    } else if (!letter.raw.equals(original.letter.raw)) {
      errors.push(`${what}: ${letter.raw.length} bytes, not the ${original.letter.raw.length} of the first`);
    }
  }
  if (replay?.replayed) {
    for (const [position, { letter, line }] of originals) {
      if (line?.kind !== 'malformed') continue;
      if (!failedAgain.has(position)) {
        errors.push(
          `dead letter ${TOPICS.deadLetter}[${letter.partition}]@${letter.offset} (${line.malformedClass}): replayed, but not dead-lettered again`,
        );
      }
    }
  }
  for (const line of malformed) {
    const source = line.offset === null ? undefined : at(line.topic, line.partition, line.offset);
    if (source === undefined)
      errors.push(`malformed #${line.seq} (${line.malformedClass}): no offset logged`);
    else if (!lettered.has(source)) {
      errors.push(`malformed ${source} (${line.malformedClass}, ${line.batchId}): no dead letter`);
    }
  }
  return {
    deadLetters: lettered.size,
    malformedSent: malformed.length,
    replayLetters: replays.length,
    deadLetterErrors: [...new Set(errors)].sort(),
  };
}
