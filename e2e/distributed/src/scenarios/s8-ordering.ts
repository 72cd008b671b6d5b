import { outcome, pick, simple, type Runner } from './scenario-kit';

/** Scenario 8: content before registration, and batches never registered, end where they must. */
export const ordering: Runner = async (env) => {
  // Half of each batch's texts before its registration; a quarter of batches never registered (pending).
  const run = await simple(env, 8, {
    workload: { batches: 4, slots: 10, beforeRegistration: 0.5, withoutRegistration: 0.25 },
    waves: pick(env.settings, 2, 10),
  });
  return outcome(8, run);
};
