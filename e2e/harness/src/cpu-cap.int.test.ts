import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuCapOfPid, createCpuGroup, findCpuController } from './cpu-cap';

const controller = findCpuController();
const describeIfControllable = typeof controller === 'string' ? describe.skip : describe;
if (typeof controller === 'string') process.stdout.write(`cpu-cap.int.test: ${controller}; skipped\n`);

/** CPU time (user + system) a process used so far, in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

describeIfControllable('a CPU cap on this machine', () => {
  it('holds a busy process to a fifth of a core, and the throttling counters show it', async () => {
    if (typeof controller === 'string') return;
    const group = createCpuGroup(controller, `els-cap-test-${process.pid}`, 0.2);
    const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      group.add(busy.pid as number);
      const before = cpuMs(busy.pid as number);
      await sleep(1500);
      const used = cpuMs(busy.pid as number) - before;
      const throttling = group.throttling();
      // 20 % of 1.5 s is 300 ms; ticks and the last period's rounding allow a little more.
      expect(used).toBeLessThan(450);
      expect(throttling.periods).toBeGreaterThan(5);
      expect(throttling.throttledPeriods).toBeGreaterThan(throttling.periods / 2);
      expect(throttling.throttledMs).toBeGreaterThan(0);
      // Found again from the process alone, as for a container the engine capped.
      expect(cpuCapOfPid(busy.pid as number)).toMatchObject({ cpus: 0.2 });
    } finally {
      busy.kill('SIGKILL');
      await new Promise((resolve) => busy.once('exit', resolve));
      group.remove();
    }
  });
});
