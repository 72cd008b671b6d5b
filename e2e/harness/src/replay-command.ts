import { execFile } from 'node:child_process';
import { KAFKA_BROKERS, workerEntry } from './paths';

/**
 * The operator's `main.js replay-dead-letters`, run the way operate.md tells them to: the worker's own
 * bundle (the build under test, a mutant's in the mutation self-test), the run's brokers and topic prefix.
 */

export interface ReplayCommandResult {
  /** The JSON summary line the command ends with (undefined when it printed none). */
  summary: Record<string, unknown> | undefined;
  exitCode: number;
  /** The last lines of its stderr (progress, or what went wrong). */
  stderrTail: string;
  durationMs: number;
}

export function runReplayCommand(options: {
  topicPrefix: string;
  args?: readonly string[];
  timeoutMs?: number;
}): Promise<ReplayCommandResult> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [workerEntry, 'replay-dead-letters', ...(options.args ?? [])],
      {
        env: {
          PATH: process.env['PATH'],
          ELS_KAFKA_BROKERS: KAFKA_BROKERS.join(','),
          ELS_TOPIC_PREFIX: options.topicPrefix,
        },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').at(-1) ?? '';
        let summary: Record<string, unknown> | undefined;
        try {
          const parsed: unknown = JSON.parse(last);
          if (parsed !== null && typeof parsed === 'object') summary = parsed as Record<string, unknown>;
        } catch {
          summary = undefined;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({
          summary,
          exitCode: code,
          stderrTail: stderr.trim().split('\n').slice(-5).join('\n'),
          durationMs: Date.now() - startedAt,
        });
      },
    );
  });
}
