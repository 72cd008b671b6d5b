import { commonProblems, outcome, pick, simple, type Runner, type ScenarioEnvironment } from './scenario-kit';
import type { WorkloadRunResult } from './workload-run';

/**
 * Scenario 1: copies of a text race each other across replicas, each copy with its own event id (so the
 * Redis filter cannot stop them and only PostgreSQL decides), on distinct partitions. Two shapes:
 * - several free slots: five texts of a five-slot batch, twenty copies of each; a text that took two slots
 *   (invariant 1) is possible here and the checker would see it;
 * - one free slot: twenty copies of the only text; exactly one assignment.
 */

async function raceRun(env: ScenarioEnvironment, slots: number): Promise<WorkloadRunResult> {
  return simple(env, 1, {
    label: `s1-race-${slots}slot${slots === 1 ? '' : 's'}-${env.settings.instances}r`,
    workload: {
      batches: 1,
      slots,
      texts: slots,
      duplicateRatio: 1,
      duplicateConcurrency: 20,
      duplicateMode: 'fresh',
    },
    waves: pick(env.settings, 3, 10),
  });
}

function assignmentProblem(run: WorkloadRunResult, slots: number): string[] {
  const expected = slots * run.produced.summary.waves;
  return run.check.assigned === expected
    ? []
    : [`${run.check.assigned} assignments for ${expected} distinct texts (${slots} slots per batch)`];
}

export const race: Runner = async (env) => {
  const several = await raceRun(env, 5);
  const single = await raceRun(env, 1);
  const result = outcome(1, several, { assignments: assignmentProblem(several, 5) }, [
    `one-slot shape: ${single.check.assigned} assignments for ${single.produced.summary.waves} texts, ${single.check.duplicated.length} duplicated`,
  ]);
  for (const [name, list] of Object.entries(commonProblems(single, 3)))
    result.problems[`${name}@1slot`] = list;
  result.problems['assignments@1slot'] = assignmentProblem(single, 1);
  result.report.pids = [...several.pids, ...single.pids];
  result.report.logs = [several.mergedLog, single.mergedLog];
  result.report.passed = Object.values(result.problems).every((list) => list.length === 0);
  return result;
};
