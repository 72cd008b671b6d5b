import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { infraDir } from './infra-files';

/**
 * The local stack signals its services by PID. A PID file outlives its process and the number is soon
 * reused (32,768 PIDs), so the stack must check what a PID is before it sends SIGTERM to it.
 */

const stackScript = path.join(infraDir, 'local', 'stack.mjs');

function pidIs(pid: number, marker: string): boolean {
  const code = `import(${JSON.stringify(stackScript)}).then((stack) => process.stdout.write(String(stack.pidIs(${pid}, ${JSON.stringify(marker)}))))`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }) === 'true';
}

describe('local stack PID checks', () => {
  it('names a live process by its name or a command-line argument, and nothing else', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid as number;
    try {
      expect(pidIs(pid, 'sleep')).toBe(true);
      expect(pidIs(pid, '30')).toBe(true);
      // A reused PID: alive, but not the broker, Redis or PostgreSQL the stack wrote it down for.
      expect(pidIs(pid, 'kafka.Kafka')).toBe(false);
      expect(pidIs(pid, 'redis-server')).toBe(false);
      expect(pidIs(pid, 'postgres')).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(pidIs(pid, 'sleep')).toBe(false);
  });
});
