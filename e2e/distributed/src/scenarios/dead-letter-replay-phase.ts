import { TOPICS } from '@els/contracts';
import { waitFor } from '@els/test-kit';
import { REPLAY_OF_HEADER, type DeadLetterReplay } from '../checker/dead-letter-check';
import { textKey } from '../history/history-index';
import type { SentLogLine, WorkloadOptions } from '@els/workload';
import { type ObservedMessage, runReplayCommand } from '@els/harness';
import {
  REFUSED_TEXT_CODE,
  chooseRefusedTexts,
  refuseTexts,
  type TextRefusal,
} from '../nemesis/text-refusal';
import type { LoadContext } from './workload-run';

/**
 * Scenario 9's second half, as an operator lives it: valid texts a defect in the database refused are
 * dead-lettered beside the malformed input; the cause is fixed (the refusal lifted); every dead letter of
 * the run is replayed with `main.js replay-dead-letters`. The checker then wants each refused text
 * assigned once, each malformed input dead-lettered again with its code and bytes, and nothing else
 * changed.
 */

export interface ReplayPhase {
  /** `beforeLoad` of the run: chooses the texts from the seed and installs the refusal. */
  install(context: { db: LoadContext['db']; workload: WorkloadOptions; waves: number }): Promise<void>;
  /** `beforeSettle` of the run: waits for the dead letters, lifts the refusal, replays. */
  replay(
    context: LoadContext,
    history: { sent: readonly SentLogLine[]; outputs: readonly ObservedMessage[] },
  ): Promise<{ replay: DeadLetterReplay }>;
  /** What went wrong with the phase itself (the command failed, replayed fewer letters than the run had). */
  readonly problems: string[];
  readonly notes: string[];
}

/** First-generation dead letters seen so far, by the input each is of. */
function letteredSources(outputs: readonly ObservedMessage[]): Set<string> {
  const sources = new Set<string>();
  for (const letter of outputs) {
    if (letter.topic !== TOPICS.deadLetter || letter.headers[REPLAY_OF_HEADER] !== undefined) continue;
    const { headers } = letter;
    sources.add(
      `${headers['x-els-source-topic']}/${headers['x-els-source-partition']}/${headers['x-els-source-offset']}`,
    );
  }
  return sources;
}

export function createReplayPhase(options: { waitTimeoutMs: number }): ReplayPhase {
  let refusal: TextRefusal | undefined;
  const problems: string[] = [];
  const notes: string[] = [];
  return {
    problems,
    notes,
    async install({ db, workload, waves }) {
      refusal = await refuseTexts(db.sql, chooseRefusedTexts(workload, waves));
      notes.push(
        `refused ${refusal.texts.length} valid texts until the replay: ${refusal.texts.map((t) => t.textStorageId).join(', ')}`,
      );
    },
    async replay(context, { sent, outputs }) {
      const texts = refusal?.texts ?? [];
      const refusedTexts = new Set(texts.map((text) => textKey(text.batchId, text.textStorageId)));
      const expected = new Set<string>();
      for (const line of sent) {
        if (line.rejected !== undefined || line.offset === null) continue;
        const refused =
          line.kind === 'content' &&
          line.textStorageId !== null &&
          refusedTexts.has(textKey(line.batchId, line.textStorageId));
        if (line.kind === 'malformed' || refused)
          expected.add(`${line.topic}/${line.partition}/${line.offset}`);
      }
      // Every dead letter the run will have must be in the topic before the replay reads it to its end.
      await waitFor(
        `the ${expected.size} dead letters of the run`,
        () => [...expected].every((source) => letteredSources(outputs).has(source)),
        { timeoutMs: options.waitTimeoutMs, intervalMs: 250 },
      ).catch((error: Error) => context.note(`replay started without every dead letter: ${error.message}`));
      await refusal?.lift();
      const letters = letteredSources(outputs).size;
      const result = await runReplayCommand({ topicPrefix: context.topicPrefix });
      const replayed = Number(result.summary?.['replayed'] ?? Number.NaN);
      notes.push(
        `replay-dead-letters: exit ${result.exitCode} in ${result.durationMs} ms, ${JSON.stringify(result.summary ?? {})}`,
      );
      if (result.exitCode !== 0 || result.summary === undefined) {
        problems.push(`replay-dead-letters failed (exit ${result.exitCode}): ${result.stderrTail}`);
      } else if (!(replayed >= letters)) {
        problems.push(
          `replay-dead-letters replayed ${result.summary['replayed']} letters, the run had ${letters}`,
        );
      }
      return {
        replay: { refusedTexts, refusedCode: REFUSED_TEXT_CODE, replayed: result.exitCode === 0 },
      };
    },
  };
}
