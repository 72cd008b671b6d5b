import { outcome, pick, simple, type Runner } from './scenario-kit';

/**
 * Scenario 9: every malformed class is dead-lettered with its code; valid input is not. Ten malformed
 * messages per wave, so every one of the nine classes goes out in a single wave (the CI profile's).
 */
export const badInput: Runner = async (env) => {
  const run = await simple(env, 9, {
    workload: { batches: 2, slots: 5, malformed: 5 },
    waves: pick(env.settings, 1, 4),
  });
  return outcome(9, run);
};
