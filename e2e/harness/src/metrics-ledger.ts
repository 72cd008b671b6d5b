import type { WorkerCluster } from './process-cluster';

/**
 * The replicas' own account of what they did, as Prometheus would scrape it: every running replica's
 * `/metrics` read once a second during the run and once more after it settled, keeping the last reading
 * of each process. A process that ended (killed, restarted, stopped) after its last reading took its
 * latest increments with it: its counts are a lower bound, and the ledger says so.
 */

/** The counters the suite compares with the history (sums over their labels unless split). */
export interface CounterSample {
  slotAssignments: number;
  excess: number;
  completions: number;
  /** `els_dead_letters_total` by its `code` label. */
  deadLetters: Record<string, number>;
  consumed: number;
}

export interface ProcessReading {
  /** The replica's instance id (what its records' `x-els-origin` header names). */
  instanceId: string;
  /** The process (pid) the reading came from; a restarted replica is a new process with fresh counters. */
  process: string;
  scrapedAtMs: number;
  /** Read after the run settled, from a process still running: nothing it did is missing. */
  complete: boolean;
  counters: CounterSample;
  /** The whole text exposition of the last reading (histograms for the thresholds). */
  exposition: string;
  /** Every reading of this process: resident set, heap in use and input events consumed so far. */
  memory: MemorySample[];
}

export interface MemorySample {
  atMs: number;
  /** `process_resident_memory_bytes`. */
  rssBytes: number;
  /** `nodejs_heap_size_used_bytes`. */
  heapUsedBytes: number;
  /** `els_events_consumed_total`, summed over its labels. */
  consumed: number;
}

const COUNTERS: Record<string, keyof Omit<CounterSample, 'deadLetters'>> = {
  els_slot_assignments_total: 'slotAssignments',
  els_excess_reports_total: 'excess',
  els_batch_completions_total: 'completions',
  els_events_consumed_total: 'consumed',
};

/** The compared counters of one Prometheus text exposition. */
export function parseCounters(text: string): CounterSample {
  const sample: CounterSample = {
    slotAssignments: 0,
    excess: 0,
    completions: 0,
    deadLetters: {},
    consumed: 0,
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name = '', labels = '', raw = '0'] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === 'els_dead_letters_total') {
      const code = /code="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
      sample.deadLetters[code] = (sample.deadLetters[code] ?? 0) + value;
      continue;
    }
    const field = COUNTERS[name];
    if (field) sample[field] += value;
  }
  return sample;
}

/** The first value of an unlabelled gauge in an exposition (0 when absent). */
function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  const value = Number(match?.[1]);
  return Number.isFinite(value) ? value : 0;
}

/** One memory sample of an exposition read at `atMs`. */
export function memorySample(text: string, atMs: number, consumed: number): MemorySample {
  return {
    atMs,
    rssBytes: gauge(text, 'process_resident_memory_bytes'),
    heapUsedBytes: gauge(text, 'nodejs_heap_size_used_bytes'),
    consumed,
  };
}

/** The ledger's key of a replica's current process (a restarted replica is a new process). */
export const processKey = (replica: { instanceId: string; pid?: number | undefined }) =>
  `${replica.instanceId}@${replica.pid ?? 'container'}`;

export interface MetricsLedger {
  /** Reads every running replica once now; `complete` marks the reading after the run settled. */
  scrape(complete?: boolean): Promise<void>;
  /** Every process's last reading, in the order processes were first read. */
  readings(): ProcessReading[];
  stop(): void;
}

export function createMetricsLedger(cluster: WorkerCluster, intervalMs = 1000): MetricsLedger {
  const last = new Map<string, ProcessReading>();
  let scraping: Promise<void> | undefined;

  const scrapeOnce = async (complete: boolean) => {
    await Promise.all(
      cluster.replicas
        .filter((replica) => replica.state === 'running' && replica.port !== undefined)
        .map(async (replica) => {
          const process = processKey(replica);
          try {
            const { status, body } = await cluster.httpGet(replica.index, '/metrics');
            if (status !== 200 || typeof body !== 'string') return;
            const scrapedAtMs = Date.now();
            const counters = parseCounters(body);
            const memory = last.get(process)?.memory ?? [];
            memory.push(memorySample(body, scrapedAtMs, counters.consumed));
            last.set(process, {
              instanceId: replica.instanceId,
              process,
              scrapedAtMs,
              complete,
              counters,
              exposition: body,
              memory,
            });
          } catch {
            // A replica being killed or restarted: its previous reading stands.
          }
        }),
    );
  };
  const scrape = (complete = false) => {
    const run = (scraping ?? Promise.resolve()).then(() => scrapeOnce(complete));
    scraping = run.catch(() => undefined);
    return run;
  };
  const timer = setInterval(() => void scrape(false), intervalMs);
  timer.unref();
  return {
    scrape,
    readings: () => [...last.values()],
    stop: () => clearInterval(timer),
  };
}
