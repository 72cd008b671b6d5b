import path from 'node:path';
import { repoRoot, reportDir } from '@els/harness';
import { formatTraceLine, traceId } from '../history/merged-log';

/**
 * `npm run distributed -- trace <batch-or-correlation-id> [--dir <report dir>]`: follows one batch,
 * correlation, event or text id through the merged logs of every replica of the last run, time-ordered.
 */
function main(): number {
  const args = process.argv.slice(2);
  let dir = reportDir;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (arg === '--dir' && args[i + 1] !== undefined) dir = path.resolve(args[(i += 1)] as string);
    else positional.push(arg);
  }
  const id = positional[0];
  if (!id) {
    process.stderr.write(
      'usage: npm run distributed -- trace <batch-or-correlation-id> [--dir <report dir>]\n',
    );
    return 2;
  }
  const lines = traceId(dir, id);
  if (lines.length === 0) {
    process.stderr.write(`no log line of ${path.relative(repoRoot, dir) || dir} mentions ${id}\n`);
    return 1;
  }
  for (const line of lines) process.stdout.write(`${formatTraceLine(line)}\n`);
  const sources = new Set(lines.map((line) => line.entry.source));
  process.stderr.write(`${lines.length} lines from ${sources.size} sources (${[...sources].join(', ')})\n`);
  return 0;
}

process.exit(main());
