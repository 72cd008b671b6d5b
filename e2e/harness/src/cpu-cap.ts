import fs from 'node:fs';
import path from 'node:path';

/**
 * CPU caps for worker replicas: each capped process goes into a control group of its own whose CFS quota
 * lets it run `cpus` of a core per period, so a replica tier can be made the bottleneck on a machine whose
 * cores it shares with PostgreSQL, Kafka and the generator (what a deployment that scales out looks like:
 * each replica on a machine of its own, the shared services elsewhere).
 *
 * Both cgroup layouts are handled: v1 (a `cpu` controller hierarchy, `cpu.cfs_quota_us` and
 * `cpu.cfs_period_us`) and v2 (the unified hierarchy, `cpu.max`). The throttling counters of `cpu.stat`
 * show that the cap is in force (a capped process that was never throttled was not held to it).
 */

/** Where the controller is mounted and which layout it has. */
export interface CpuController {
  version: 1 | 2;
  /** The directory the capped groups are created under. */
  root: string;
}

export interface CpuThrottling {
  /** CFS periods in which the group had runnable tasks. */
  periods: number;
  /** Of those, periods in which it hit its quota and was held back. */
  throttledPeriods: number;
  /** Time its tasks spent held back, in milliseconds. */
  throttledMs: number;
}

export interface CpuGroup {
  name: string;
  /** The cap, in cores (0.2 = a fifth of one core). */
  cpus: number;
  /** The directory of the group. */
  dir: string;
  /** Moves a process (all its threads) into the group. */
  add(pid: number): void;
  throttling(): CpuThrottling;
  /** Moves any process left in the group back to the root and removes the group. */
  remove(): void;
}

export const CFS_PERIOD_US = 100_000;

/**
 * The CPU controller of this machine, if a capped group can be created under it (root, a writable
 * hierarchy); otherwise why not.
 */
export function findCpuController(sysfs = '/sys/fs/cgroup'): CpuController | string {
  const v1 = path.join(sysfs, 'cpu');
  if (fs.existsSync(path.join(v1, 'cpu.cfs_quota_us'))) {
    return writable(v1) ? { version: 1, root: v1 } : `${v1} is not writable (run as root)`;
  }
  const controllers = path.join(sysfs, 'cgroup.controllers');
  if (fs.existsSync(controllers)) {
    if (!fs.readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) {
      return `the cgroup v2 hierarchy at ${sysfs} has no cpu controller`;
    }
    return writable(sysfs) ? { version: 2, root: sysfs } : `${sysfs} is not writable (run as root)`;
  }
  return `no cgroup cpu controller under ${sysfs}`;
}

function writable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Creates (or resets) the group `name` capped at `cpus` cores. */
export function createCpuGroup(controller: CpuController, name: string, cpus: number): CpuGroup {
  if (!(cpus > 0)) throw new Error(`a CPU cap must be a positive number of cores, got ${cpus}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`invalid control group name: ${name}`);
  const dir = path.join(controller.root, name);
  fs.mkdirSync(dir, { recursive: true });
  const quota = Math.max(1000, Math.round(cpus * CFS_PERIOD_US));
  if (controller.version === 1) {
    fs.writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
    fs.writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
  } else {
    const subtree = path.join(controller.root, 'cgroup.subtree_control');
    if (!fs.readFileSync(subtree, 'utf8').split(/\s+/).includes('cpu')) fs.writeFileSync(subtree, '+cpu');
    fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
  }
  return {
    name,
    cpus,
    dir,
    add(pid) {
      fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
    },
    throttling() {
      return parseCpuStat(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8'), controller.version);
    },
    remove() {
      const procs = path.join(dir, 'cgroup.procs');
      const left = fs.existsSync(procs)
        ? fs
            .readFileSync(procs, 'utf8')
            .split('\n')
            .filter((line) => line.trim() !== '')
        : [];
      for (const pid of left) {
        try {
          fs.writeFileSync(path.join(controller.root, 'cgroup.procs'), pid);
        } catch {
          // The process ended meanwhile.
        }
      }
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    },
  };
}

/** The throttling counters of a `cpu.stat` file (v1: `throttled_time` in ns; v2: `throttled_usec`). */
export function parseCpuStat(text: string, version: 1 | 2): CpuThrottling {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  const throttledMs =
    version === 1 ? (values.get('throttled_time') ?? 0) / 1e6 : (values.get('throttled_usec') ?? 0) / 1e3;
  return {
    periods: values.get('nr_periods') ?? 0,
    throttledPeriods: values.get('nr_throttled') ?? 0,
    throttledMs,
  };
}

/**
 * The CPU cap and throttling counters of the control group process `pid` is in, whoever put it there
 * (the process driver's own groups, or the container engine's for a container's init process): from
 * `/proc/<pid>/cgroup` to the group's `cpu.stat` and quota. Undefined when the process is gone or its
 * group has no cap.
 */
export function cpuCapOfPid(
  pid: number,
  sysfs = '/sys/fs/cgroup',
  proc = '/proc',
): (CpuThrottling & { cpus: number }) | undefined {
  let membership: string;
  try {
    membership = fs.readFileSync(path.join(proc, String(pid), 'cgroup'), 'utf8');
  } catch {
    return undefined;
  }
  for (const line of membership.split('\n')) {
    const [, controllers = '', groupPath = ''] = line.split(':');
    const v1 = controllers.split(',').includes('cpu');
    if (!v1 && !(controllers === '' && line.startsWith('0::'))) continue;
    const dir = v1 ? path.join(sysfs, 'cpu', groupPath) : path.join(sysfs, groupPath);
    try {
      let cpus: number;
      if (v1) {
        const quota = Number(fs.readFileSync(path.join(dir, 'cpu.cfs_quota_us'), 'utf8'));
        const period = Number(fs.readFileSync(path.join(dir, 'cpu.cfs_period_us'), 'utf8'));
        cpus = quota > 0 && period > 0 ? quota / period : 0;
      } else {
        const [quota = 'max', period = '100000'] = fs
          .readFileSync(path.join(dir, 'cpu.max'), 'utf8')
          .trim()
          .split(/\s+/);
        cpus = quota === 'max' ? 0 : Number(quota) / Number(period);
      }
      if (!(cpus > 0)) return undefined;
      return { cpus, ...parseCpuStat(fs.readFileSync(path.join(dir, 'cpu.stat'), 'utf8'), v1 ? 1 : 2) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
