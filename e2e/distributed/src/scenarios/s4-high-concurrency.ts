import { outcome, pick, simple, type Runner } from './scenario-kit';

/** Scenario 4: 30 texts for 15 slots at once: exactly 15 assigned and 15 excess, no false excess. */
export const highConcurrency: Runner = async (env) => {
  const run = await simple(env, 4, {
    workload: { batches: 1, slots: 15, texts: 15, excessRatio: 1 },
    // The registration first, so the 30 texts contend for registered slots on every replica at once.
    registrationLeadMs: 1000,
    waves: pick(env.settings, 3, 10),
  });
  const waves = run.produced.summary.waves;
  return outcome(4, run, {
    assignments:
      run.check.assigned === 15 * waves ? [] : [`${run.check.assigned} assigned, expected ${15 * waves}`],
    excess: run.check.excess === 15 * waves ? [] : [`${run.check.excess} excess, expected ${15 * waves}`],
  });
};
