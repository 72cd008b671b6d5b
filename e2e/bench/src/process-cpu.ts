import fs from 'node:fs';

/** CPU seconds consumed so far by the local stack's servers and by this process's exited children. */
export interface CpuSample {
  postgres: number;
  kafka: number;
  redis: number;
  /** Exited children of this process (the generator after it finished, replicas after they stopped). */
  children: number;
}

const TICKS_PER_SECOND = 100;

interface Stat {
  comm: string;
  /** utime + stime, in seconds */
  own: number;
  /** cutime + cstime (reaped children), in seconds */
  reaped: number;
}

function readStat(pid: string): Stat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = text.indexOf('(');
    const close = text.lastIndexOf(')');
    // Fields after the command name, starting at field 3 (state): utime is field 14, cstime field 17.
    const fields = text.slice(close + 2).split(' ');
    const at = (field: number) => Number(fields[field - 3] ?? 0) / TICKS_PER_SECOND;
    return { comm: text.slice(open + 1, close), own: at(14) + at(15), reaped: at(16) + at(17) };
  } catch {
    return undefined;
  }
}

function isKafka(pid: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka');
  } catch {
    return false;
  }
}

/**
 * Sums /proc times by server. PostgreSQL's backends are reaped by the postmaster, so a backend that
 * exited between two samples is counted in the postmaster's reaped time and nowhere twice.
 */
export function sampleCpu(): CpuSample {
  const sample: CpuSample = { postgres: 0, kafka: 0, redis: 0, children: 0 };
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    if (stat.comm === 'postgres') sample.postgres += stat.own + stat.reaped;
    else if (stat.comm === 'redis-server') sample.redis += stat.own;
    else if (stat.comm === 'java' && isKafka(pid)) sample.kafka += stat.own;
  }
  sample.children = readStat('self')?.reaped ?? 0;
  return sample;
}
