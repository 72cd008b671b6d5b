import { randomInt } from 'node:crypto';
import { parseThresholds, type ThresholdLimits } from '../checker/thresholds';
import { parseFaultKinds, type FaultKind } from '../nemesis/fault-schedule';

/**
 * What to run, from the environment:
 *   E2E_SCENARIO    scenario ids or names, comma-separated (default: all nine)
 *   E2E_INSTANCES   replicas per scenario (default 3; scenario 6 always compares 1, 3 and 5)
 *   E2E_DURATION_S  load duration of the time-based scenarios (5, 7) and of scenario 6's runs
 *   E2E_PROFILE     `ci` (every scenario at small sizes) or `full` (default)
 *   E2E_FAULTS      fault kinds scenario 7 draws from, comma-separated (default: every kind; the CI
 *                   profile leaves out the pause longer than the session timeout)
 *   E2E_SEED        an integer 0-4294967295 that fixes every workload and the fault schedule (default:
 *                   drawn at random and printed, so a failing run can be replayed)
 *   E2E_DRIVER      `process` (default: replicas are processes of this machine, the local stack's services)
 *                   or `compose` (replicas are containers of infra/compose/distributed-test.yml on the
 *                   locally built images, with that stack's services; `npm run images` first)
 *   E2E_THRESHOLDS  the thresholds' limits: `name=value,…`, a JSON file's path, or `off` (default: the
 *                   service's targets, checker/thresholds.ts)
 *   E2E_REPLICA_CPU cap each replica of scenario 6's scaling comparison at this many cores (0.2 = a fifth
 *                   of one; a control group per replica process, `cpus` under Compose), so the replicas are
 *                   the bottleneck and its ratios are judged (default: uncapped, ratios reported only)
 */
export interface RunSettings {
  selected: Set<number>;
  instances: number;
  durationS: number | undefined;
  profile: 'ci' | 'full';
  seed: number;
  /** True when the seed came from E2E_SEED. */
  seedGiven: boolean;
  /** E2E_FAULTS, when given. */
  faults: FaultKind[] | undefined;
  driver: Driver;
  /** The limit of every threshold (E2E_THRESHOLDS over the defaults). */
  thresholds: ThresholdLimits;
  /** E2E_REPLICA_CPU: the cores each replica of scenario 6's comparison may use; undefined = uncapped. */
  replicaCpus: number | undefined;
}

export type Driver = 'process' | 'compose';

export const SCENARIO_NAMES: Record<number, string> = {
  1: 'race',
  2: 'cross-instance',
  3: 'completion',
  4: 'high-concurrency',
  5: 'redis-consistency',
  6: 'horizontal-scaling',
  7: 'faults',
  8: 'ordering',
  9: 'bad-input',
};

export function parseRunSettings(env: Readonly<Record<string, string | undefined>>): RunSettings {
  const selected = new Set<number>();
  const wanted = (env['E2E_SCENARIO'] ?? '').trim();
  if (wanted === '' || wanted === 'all') {
    for (const id of Object.keys(SCENARIO_NAMES)) selected.add(Number(id));
  } else {
    for (const item of wanted.split(',').map((s) => s.trim().toLowerCase())) {
      const byName = Object.entries(SCENARIO_NAMES).find(
        ([, name]) => name === item || name.replace('-', ' ') === item || name.split('-').includes(item),
      );
      const id = /^\d+$/.test(item) ? Number(item) : Number(byName?.[0]);
      if (!SCENARIO_NAMES[id]) {
        throw new Error(
          `E2E_SCENARIO: unknown scenario "${item}"; use an id 1-9 or one of ${Object.values(SCENARIO_NAMES).join(', ')}`,
        );
      }
      selected.add(id);
    }
  }
  const instances = Number(env['E2E_INSTANCES'] ?? 3);
  if (!Number.isInteger(instances) || instances < 1 || instances > 16) {
    throw new Error('E2E_INSTANCES must be an integer from 1 to 16');
  }
  const durationRaw = env['E2E_DURATION_S'];
  const durationS = durationRaw === undefined || durationRaw === '' ? undefined : Number(durationRaw);
  if (durationS !== undefined && (!Number.isFinite(durationS) || durationS <= 0)) {
    throw new Error('E2E_DURATION_S must be a positive number of seconds');
  }
  const profile = env['E2E_PROFILE'] === 'ci' ? 'ci' : 'full';
  const seedRaw = (env['E2E_SEED'] ?? '').trim();
  const seed = seedRaw === '' ? randomInt(0, 0x1_0000_0000) : Number(seedRaw);
  if (!/^\d+$/.test(seedRaw === '' ? '0' : seedRaw) || !Number.isSafeInteger(seed) || seed > 0xffffffff) {
    throw new Error('E2E_SEED must be an integer from 0 to 4294967295');
  }
  const faultsRaw = (env['E2E_FAULTS'] ?? '').trim();
  const faults = faultsRaw === '' ? undefined : parseFaultKinds(faultsRaw);
  const driverRaw = (env['E2E_DRIVER'] ?? '').trim();
  if (driverRaw !== '' && driverRaw !== 'process' && driverRaw !== 'compose') {
    throw new Error(`E2E_DRIVER: unknown driver "${driverRaw}"; use process or compose`);
  }
  const driver: Driver = driverRaw === 'compose' ? 'compose' : 'process';
  const thresholds = parseThresholds(env['E2E_THRESHOLDS']);
  const cpuRaw = (env['E2E_REPLICA_CPU'] ?? '').trim();
  const replicaCpus = cpuRaw === '' || cpuRaw === 'off' ? undefined : Number(cpuRaw);
  if (
    replicaCpus !== undefined &&
    !(Number.isFinite(replicaCpus) && replicaCpus >= 0.01 && replicaCpus <= 64)
  ) {
    throw new Error(`E2E_REPLICA_CPU must be a number of cores from 0.01 to 64, or off; got "${cpuRaw}"`);
  }
  return {
    selected,
    instances,
    durationS,
    profile,
    seed,
    seedGiven: seedRaw !== '',
    faults,
    driver,
    thresholds,
    replicaCpus,
  };
}
