import { CONTRACT_ERROR_CODES, TOPICS } from '@els/contracts';
import { MALFORMED_CLASS_CODES, type SentLogLine } from '../generator';
import type { HistoryIndex } from './history-index';

export interface DeadLetterCheck {
  /** Distinct inputs dead-lettered. */
  deadLetters: number;
  malformedSent: number;
  deadLetterErrors: string[];
}

const at = (topic: string, partition: number | string, offset: string) => `${topic}[${partition}]@${offset}`;

/**
 * Dead letters matched to their inputs by the source topic, partition and offset headers: one per
 * malformed input, carrying the code of its class; none for valid input. Several dead letters of one input
 * are re-publishes (at-least-once) and count once. A dead letter whose source the sent log does not name
 * is an error, unless a send to that topic-partition was retried (an earlier attempt may have written the
 * message at an offset the acknowledgement never named) and the letter is a malformed one.
 */
export function checkDeadLetters(index: HistoryIndex): DeadLetterCheck {
  const errors: string[] = [];
  const byOffset = new Map<string, SentLogLine>();
  for (const line of index.delivered) {
    if (line.offset !== null) byOffset.set(at(line.topic, line.partition, line.offset), line);
  }
  const malformed = index.delivered.filter((line) => line.kind === 'malformed');
  const retriedPartitions = new Set(
    index.delivered.filter((line) => line.attempts > 1).map((line) => `${line.topic}[${line.partition}]`),
  );
  const lettered = new Set<string>();
  for (const letter of index.recordsOf(TOPICS.deadLetter)) {
    const source = at(
      letter.headers['x-els-source-topic'] ?? '?',
      letter.headers['x-els-source-partition'] ?? '?',
      letter.headers['x-els-source-offset'] ?? '?',
    );
    const code = letter.headers['x-els-error-code'] ?? 'no code';
    const line = byOffset.get(source);
    if (!line) {
      const partition = source.slice(0, source.lastIndexOf('@'));
      const contractCode = (Object.values(CONTRACT_ERROR_CODES) as string[]).includes(code);
      if (!(retriedPartitions.has(partition) && contractCode)) {
        errors.push(`dead letter of ${source} (${code}): the generator sent nothing there`);
      }
      continue;
    }
    lettered.add(source);
    if (line.kind !== 'malformed') {
      errors.push(`dead letter of ${source} (${code}): a valid ${line.kind} of ${line.batchId}`);
    } else if (line.malformedClass && code !== MALFORMED_CLASS_CODES[line.malformedClass]) {
      errors.push(
        `dead letter of ${source} (${code}): ${line.malformedClass} expects ${MALFORMED_CLASS_CODES[line.malformedClass]}`,
      );
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
    deadLetterErrors: [...new Set(errors)].sort(),
  };
}
