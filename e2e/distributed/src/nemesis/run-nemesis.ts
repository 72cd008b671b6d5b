import { applyFault, healEverything, type FaultDetails, type FaultTargets } from './fault-kinds';
import { GROUP_KINDS, SERVICE_OF_KIND, servicesHeldBy, type ScheduledFault } from './fault-schedule';

/**
 * Runs a fault schedule against a loaded cluster: each fault starts at its time after the load began (or as
 * soon as the fault on the same service, or the group change, before it has ended, when that took longer
 * than planned), several at once where the schedule overlaps them. A fault whose turn comes only after the load has ended is skipped
 * and reported: it would test nothing (a scale-up that waits out a killed member's session timeout can push
 * the next service fault past a short load). Records every fault's real window, and ends with everything
 * healed and every running replica ready.
 */

export interface FaultRecorder {
  /**
   * Runs a fault and records its window under `label`, with `details` as they are when the action ends
   * (the action fills them in).
   */
  fault<T>(label: string, action: () => Promise<T>, details?: FaultDetails): Promise<T>;
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
  // Faults on one service run one after another (a produce refusal holds PostgreSQL's turn too); a group
  // change waits for every service fault before it, and every later service fault waits for it.
  const chains = new Map<string, Promise<void>>();
  const after = (keys: readonly string[]) =>
    Promise.all(keys.map((key) => chains.get(key) ?? Promise.resolve())).then(() => undefined);
  const serialised = (fault: ScheduledFault, run: () => Promise<void>): Promise<void> => {
    const held = GROUP_KINDS.has(fault.kind)
      ? ['group', ...new Set(Object.values(SERVICE_OF_KIND))]
      : servicesHeldBy(fault.kind);
    if (held.length === 0) return run();
    const turn = after([...new Set(['group', ...held])]).then(run, run);
    for (const key of held)
      chains.set(
        key,
        turn.catch(() => undefined),
      );
    return turn;
  };
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
      const details: FaultDetails = {
        kind: fault.kind,
        family: fault.family,
        ...(fault.replica === undefined ? {} : { replica: fault.replica }),
        ...(fault.dependency === undefined ? {} : { dependency: fault.dependency }),
      };
      await recorder.fault(fault.label, () => applyFault(targets, fault, details), details);
    };
    await serialised(fault, run).catch((error: unknown) => {
      failures.push(`${fault.label}: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await Promise.all(tasks);
  const unrecovered = await healEverything(targets);
  return { failures, unrecovered, skipped };
}
