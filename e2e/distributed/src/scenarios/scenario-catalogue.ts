import type { Runner } from './scenario-kit';
import { race } from './s1-race';
import { crossInstance } from './s2-cross-instance';
import { completion } from './s3-completion';
import { highConcurrency } from './s4-high-concurrency';
import { redisConsistency } from './s5-redis-consistency';
import { scaling } from './s6-horizontal-scaling';
import { faults } from './s7-faults';
import { ordering } from './s8-ordering';
import { badInput } from './s9-bad-input';

export type { ScenarioEnvironment, ScenarioOutcome } from './scenario-kit';

/** The nine scenarios of docs/guides/testing.md, one file each. */
export const SCENARIO_RUNNERS: Record<number, Runner> = {
  1: race,
  2: crossInstance,
  3: completion,
  4: highConcurrency,
  5: redisConsistency,
  6: scaling,
  7: faults,
  8: ordering,
  9: badInput,
};

/** Priority order: correctness first, then Redis, faults and scaling. */
export const SCENARIO_ORDER = [1, 2, 3, 4, 8, 9, 5, 7, 6];
