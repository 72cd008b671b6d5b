/**
 * Runs the stop steps of the worker in order under one time budget. Each step gets its own share of what
 * is left (its weight over the weights still to run), so a step whose dependency hangs (a consumer leaving
 * a group whose broker is gone, a relay flushing to a database that does not answer) is abandoned at the
 * end of its share and the later steps still run: shutdown ends within the budget whatever is unreachable.
 */

export interface StopStep {
  name: string;
  /** Relative share of the budget; the time a fast step does not use goes to the steps after it. */
  weight: number;
  /** Stops the part; receives the milliseconds this step may take. */
  run(timeoutMs: number): Promise<void>;
}

/**
 * A long-running part of the worker (CONTRIBUTING.md §4). The worker keeps one list of them in start order
 * and stops them in reverse (`stopSteps`); a part that must stop elsewhere names the part it stops right
 * after, and says why where it is listed.
 */
export interface WorkerPart {
  readonly name: string;
  start(): Promise<void>;
  /** Its stop steps, run one after the other. */
  readonly stop: readonly StopStep[];
  /** An exception to the reverse order: the part this one stops right after. */
  readonly stopAfter?: string;
}

/** The stop steps of `parts` (given in start order): in reverse, an exception right after the part it names. */
export function stopSteps(parts: readonly WorkerPart[]): StopStep[] {
  const order = parts.filter((part) => part.stopAfter === undefined).reverse();
  for (const part of [...parts].reverse()) {
    if (part.stopAfter === undefined) continue;
    const at = order.findIndex((other) => other.name === part.stopAfter);
    if (at < 0) throw new Error(`part "${part.name}" stops after "${part.stopAfter}", which is not placed`);
    order.splice(at + 1, 0, part);
  }
  return order.flatMap((part) => part.stop);
}

export type StopStepOutcome =
  | { name: string; status: 'stopped'; durationMs: number }
  | { name: string; status: 'failed'; durationMs: number; error: unknown }
  | { name: string; status: 'timed-out'; durationMs: number };

export interface StopReport {
  /** Every step stopped within its share without an error. */
  clean: boolean;
  steps: StopStepOutcome[];
}

export interface StopSequenceOptions {
  budgetMs: number;
  now?: () => number;
  onStep?: (outcome: StopStepOutcome, timeoutMs: number) => void;
}

const TIMED_OUT = Symbol('timed out');

export async function runStopSequence(
  steps: readonly StopStep[],
  options: StopSequenceOptions,
): Promise<StopReport> {
  const now = options.now ?? Date.now;
  const deadline = now() + options.budgetMs;
  const outcomes: StopStepOutcome[] = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as StopStep;
    const weightLeft = steps.slice(i).reduce((sum, s) => sum + s.weight, 0);
    const remainingMs = Math.max(0, deadline - now());
    const timeoutMs = Math.floor(weightLeft > 0 ? (remainingMs * step.weight) / weightLeft : remainingMs);
    const startedAt = now();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
    });
    let outcome: StopStepOutcome;
    try {
      const running = step.run(timeoutMs);
      // An abandoned step may still fail later; that must not surface as an unhandled rejection.
      running.catch(() => undefined);
      const result = await Promise.race([running, expired]);
      const durationMs = now() - startedAt;
      outcome =
        result === TIMED_OUT
          ? { name: step.name, status: 'timed-out', durationMs }
          : { name: step.name, status: 'stopped', durationMs };
    } catch (error) {
      outcome = { name: step.name, status: 'failed', durationMs: now() - startedAt, error };
    } finally {
      clearTimeout(timer);
    }
    outcomes.push(outcome);
    options.onStep?.(outcome, timeoutMs);
  }
  return { clean: outcomes.every((o) => o.status === 'stopped'), steps: outcomes };
}
