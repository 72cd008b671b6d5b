import { measureStatusApiLoad, type StatusApiLoad, statusApiLoadProblems } from '@els/harness';
import { outcome, pick, simple, type Runner } from './scenario-kit';

/** Scenario 3: completion counts validation failures; the status API is loaded once settled. */
export const completion: Runner = async (env) => {
  // Nine texts and one validation failure fill ten slots: the failure must count towards completion.
  // Once settled, the status API of those batches is loaded through nginx in front of every replica.
  let statusApiLoad: StatusApiLoad | undefined;
  const loadProblems: string[] = [];
  const run = await simple(env, 3, {
    workload: {
      batches: 3,
      slots: 10,
      texts: 9,
      validationFailures: 1,
      duplicateRatio: 0.2,
      duplicateConcurrency: 3,
    },
    waves: pick(env.settings, 2, 10),
    afterSettle: async (cluster, { batchIds, logDir }) => {
      try {
        statusApiLoad = await measureStatusApiLoad(cluster, {
          batchIds,
          logDir,
          reportDir: env.reportDir,
          durationS: pick(env.settings, 3, 10),
          connections: 10,
        });
        loadProblems.push(...statusApiLoadProblems(statusApiLoad));
      } catch (error) {
        loadProblems.push(`status API load: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  });
  const result = outcome(3, run, { statusApiLoad: loadProblems });
  if (statusApiLoad) result.report.statusApiLoad = statusApiLoad;
  return result;
};
