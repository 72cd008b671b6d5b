import { createReplayPhase } from './dead-letter-replay-phase';
import { outcome, pick, simple, type Runner } from './scenario-kit';

/**
 * Scenario 9: every malformed class is dead-lettered with its code; valid input is not, but for one text
 * per batch that a defect in the database refuses until the end. Ten malformed messages per wave, so every
 * one of the nine classes goes out in a single wave (the CI profile's). Then the refusal is lifted and
 * every dead letter of the run replayed (dead-letter-replay-phase.ts): each refused text is assigned once,
 * each malformed input dead-lettered again with the same code and bytes.
 */
export const badInput: Runner = async (env) => {
  const phase = createReplayPhase({ waitTimeoutMs: 90_000 });
  const run = await simple(env, 9, {
    workload: { batches: 2, slots: 5, malformed: 5 },
    waves: pick(env.settings, 1, 4),
    // A refused text is dead-lettered after two attempts and a write probe, not five with long backoffs.
    env: { ELS_RETRY_UNEXPECTED_MAX: '2', ELS_RETRY_MAX_BACKOFF_MS: '500' },
    beforeLoad: (context) => phase.install(context),
    beforeSettle: (context, history) => phase.replay(context, history),
  });
  return outcome(9, run, { replay: phase.problems }, phase.notes);
};
