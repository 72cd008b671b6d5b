import { outcome, pick, simple, type Runner } from './scenario-kit';

/** Scenario 2: six texts of one batch spread over the replicas fill its six slots. */
export const crossInstance: Runner = async (env) => {
  const run = await simple(env, 2, {
    workload: { batches: 1, slots: 6 },
    // The registration first, so the texts race for registered slots on every replica at once.
    registrationLeadMs: 1000,
    waves: pick(env.settings, 3, 10),
  });
  const expected = 6 * run.produced.summary.waves;
  return outcome(2, run, {
    assignments:
      run.check.assigned === expected ? [] : [`${run.check.assigned} assignments, expected ${expected}`],
  });
};
