import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CFS_PERIOD_US, cpuCapOfPid, createCpuGroup, findCpuController, parseCpuStat } from './cpu-cap';

/** A scratch directory laid out like /sys/fs/cgroup in the given layout. */
function fakeSysfs(version: 1 | 2): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-cap-'));
  if (version === 1) {
    fs.mkdirSync(path.join(root, 'cpu'));
    fs.writeFileSync(path.join(root, 'cpu', 'cpu.cfs_quota_us'), '-1');
    fs.writeFileSync(path.join(root, 'cpu', 'cgroup.procs'), '');
  } else {
    fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids');
    fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), 'memory');
    fs.writeFileSync(path.join(root, 'cgroup.procs'), '');
  }
  return root;
}

describe('CPU caps', () => {
  it('finds a v1 cpu hierarchy and sets the quota of a fifth of a core per 100 ms period', () => {
    const sysfs = fakeSysfs(1);
    const controller = findCpuController(sysfs);
    expect(controller).toEqual({ version: 1, root: path.join(sysfs, 'cpu') });
    if (typeof controller === 'string') return;
    const group = createCpuGroup(controller, 'els-r1', 0.2);
    expect(fs.readFileSync(path.join(group.dir, 'cpu.cfs_period_us'), 'utf8')).toBe(String(CFS_PERIOD_US));
    expect(fs.readFileSync(path.join(group.dir, 'cpu.cfs_quota_us'), 'utf8')).toBe('20000');
    group.add(4242);
    expect(fs.readFileSync(path.join(group.dir, 'cgroup.procs'), 'utf8')).toBe('4242');
  });

  it('finds a v2 hierarchy, enables its cpu controller for children and writes cpu.max', () => {
    const sysfs = fakeSysfs(2);
    const controller = findCpuController(sysfs);
    expect(controller).toEqual({ version: 2, root: sysfs });
    if (typeof controller === 'string') return;
    const group = createCpuGroup(controller, 'els-r2', 1.5);
    expect(fs.readFileSync(path.join(sysfs, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu');
    expect(fs.readFileSync(path.join(group.dir, 'cpu.max'), 'utf8')).toBe('150000 100000');
  });

  it('says why when there is no cpu controller', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-cap-'));
    expect(findCpuController(empty)).toBe(`no cgroup cpu controller under ${empty}`);
    fs.writeFileSync(path.join(empty, 'cgroup.controllers'), 'memory pids');
    expect(findCpuController(empty)).toMatch(/has no cpu controller/);
  });

  it('refuses a cap that is not a positive number of cores, and a name that is not a plain directory name', () => {
    const sysfs = fakeSysfs(1);
    const controller = findCpuController(sysfs);
    if (typeof controller === 'string') throw new Error(controller);
    expect(() => createCpuGroup(controller, 'els-r1', 0)).toThrow(/positive number of cores/);
    expect(() => createCpuGroup(controller, '../escape', 0.2)).toThrow(/invalid control group name/);
  });

  it('reads the throttling counters of both layouts in the same units', () => {
    expect(parseCpuStat('nr_periods 33\nnr_throttled 30\nthrottled_time 2400000000\n', 1)).toEqual({
      periods: 33,
      throttledPeriods: 30,
      throttledMs: 2400,
    });
    expect(parseCpuStat('usage_usec 1\nnr_periods 10\nnr_throttled 4\nthrottled_usec 350000\n', 2)).toEqual({
      periods: 10,
      throttledPeriods: 4,
      throttledMs: 350,
    });
  });

  it('finds the cap and throttling of the group a process is in, from /proc/<pid>/cgroup (v1 and v2)', () => {
    const sysfs = fakeSysfs(1);
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'cpu-cap-proc-'));
    const group = path.join(sysfs, 'cpu', 'machine.slice', 'libpod-abc');
    fs.mkdirSync(group, { recursive: true });
    fs.writeFileSync(path.join(group, 'cpu.cfs_quota_us'), '30000');
    fs.writeFileSync(path.join(group, 'cpu.cfs_period_us'), '100000');
    fs.writeFileSync(
      path.join(group, 'cpu.stat'),
      'nr_periods 50\nnr_throttled 20\nthrottled_time 1000000000\n',
    );
    fs.mkdirSync(path.join(proc, '77'));
    fs.writeFileSync(
      path.join(proc, '77', 'cgroup'),
      '12:memory:/machine.slice/libpod-abc\n4:cpu,cpuacct:/machine.slice/libpod-abc\n1:name=systemd:/x\n',
    );
    expect(cpuCapOfPid(77, sysfs, proc)).toEqual({
      cpus: 0.3,
      periods: 50,
      throttledPeriods: 20,
      throttledMs: 1000,
    });
    // Uncapped (quota -1), and a process that is gone.
    fs.writeFileSync(path.join(group, 'cpu.cfs_quota_us'), '-1');
    expect(cpuCapOfPid(77, sysfs, proc)).toBeUndefined();
    expect(cpuCapOfPid(78, sysfs, proc)).toBeUndefined();

    const unified = fakeSysfs(2);
    fs.mkdirSync(path.join(unified, 'els', 'r1'), { recursive: true });
    fs.writeFileSync(path.join(unified, 'els', 'r1', 'cpu.max'), '20000 100000\n');
    fs.writeFileSync(
      path.join(unified, 'els', 'r1', 'cpu.stat'),
      'nr_periods 10\nnr_throttled 9\nthrottled_usec 5000\n',
    );
    fs.writeFileSync(path.join(proc, '77', 'cgroup'), '0::/els/r1\n');
    expect(cpuCapOfPid(77, unified, proc)).toEqual({
      cpus: 0.2,
      periods: 10,
      throttledPeriods: 9,
      throttledMs: 5,
    });
  });
});
