import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSentLogWriter, type SentLogWriter } from './sent-log';
import type { ProduceResult } from './workload-producer';

export interface RunOutput {
  dir: string;
  sentLogPath: string;
  sentLog: SentLogWriter;
  /** Writes summary.json and expectations.json and closes the sent log. */
  finish(result: ProduceResult): Promise<void>;
}

export const SENT_LOG_FILE = 'sent.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const EXPECTATIONS_FILE = 'expectations.json';

/** The files of one produce run, in one directory. */
export async function openRunOutput(dir: string): Promise<RunOutput> {
  await mkdir(dir, { recursive: true });
  const sentLogPath = join(dir, SENT_LOG_FILE);
  const sentLog = createSentLogWriter(sentLogPath);
  return {
    dir,
    sentLogPath,
    sentLog,
    async finish(result) {
      await sentLog.close();
      await writeFile(join(dir, SUMMARY_FILE), JSON.stringify(result.summary, null, 2) + '\n');
      await writeFile(join(dir, EXPECTATIONS_FILE), JSON.stringify(result.expectations) + '\n');
    },
  };
}
