import { applyFault, healEverything, type FaultTargets } from './fault-kinds';
import type { ScheduledFault } from './fault-schedule';

/**
 * Runs a fault schedule against a loaded cluster: each fault starts at its time after the load began (or as
 * soon as the service or group fault before it has ended, when that took longer than planned), several at
 * once where the schedule overlaps them. A fault whose turn comes only after the load has ended is skipped
 * and reported: it would test nothing (a scale-up that waits out a killed member's session timeout can push
 * the next service fault past a short load). Records every fault's real window, and ends with everything
 * healed and every running replica ready.
 */

export interface FaultRecorder {
  /** Runs a fault and records its window under `label`. */
  fault<T>(label: string, action: () => Promise<T>): Promise<T>;
}

export interface NemesisResult {
  /** Faults whose action failed (they were healed afterwards); the run goes on. */
  failures: string[];
  /** Replicas not ready again once every fault had healed. */
  unrecovered: string[];
  /** Faults not run because the load had ended before their turn came. */
  skipped: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Faults on one shared service run one after another even when one overran its planned span. */
const SERVICE_OF: Partial<Record<ScheduledFault['kind'], string>> = {
  'postgres-crash': 'postgres',
  'postgres-restart': 'postgres',
  'postgres-read-only': 'postgres',
  'kafka-crash': 'kafka',
  'kafka-restart': 'kafka',
  'redis-restart': 'redis',
  'rolling-restart': 'group',
  'scale-up': 'group',
  'scale-down': 'group',
};

export async function runNemesis(
  schedule: readonly ScheduledFault[],
  targets: FaultTargets,
  recorder: FaultRecorder,
  log: (line: string) => void = () => undefined,
  /** True once the generator has sent everything. */
  loadEnded: () => boolean = () => false,
): Promise<NemesisResult> {
  const startedAt = Date.now();
  const failures: string[] = [];
  const skipped: string[] = [];
  // Serialise the service and group faults: one chain of promises for all of them.
  let exclusive: Promise<void> = Promise.resolve();
  const tasks = schedule.map(async (fault) => {
    await sleep(Math.max(0, fault.atMs - (Date.now() - startedAt)));
    const run = async () => {
      const at = `+${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
      if (loadEnded()) {
        log(`fault skipped at ${at}, the load had ended: ${fault.label}`);
        skipped.push(
          `${fault.label} (planned at +${(fault.atMs / 1000).toFixed(1)} s, its turn came at ${at})`,
        );
        return;
      }
      log(`fault at ${at}: ${fault.label}`);
      await recorder.fault(fault.label, () => applyFault(targets, fault));
    };
    const attempt = SERVICE_OF[fault.kind] ? (exclusive = exclusive.then(run, run)) : run();
    await attempt.catch((error: unknown) => {
      failures.push(`${fault.label}: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await Promise.all(tasks);
  const unrecovered = await healEverything(targets);
  return { failures, unrecovered, skipped };
}
