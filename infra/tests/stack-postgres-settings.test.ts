import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { infraDir } from './infra-files';

/**
 * The local stack runs PostgreSQL with a deployment's settings, sized for the machine, instead of a stock
 * cluster's 128 MB of shared buffers (and whatever a machine's configuration turned off).
 */

const stackScript = path.join(infraDir, 'local', 'stack.mjs');

function settingsFor(totalBytes: number): Record<string, string> {
  const code = `import(${JSON.stringify(stackScript)}).then((stack) => process.stdout.write(JSON.stringify(stack.deploymentPostgresSettings(${totalBytes}))))`;
  return JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }),
  ) as Record<string, string>;
}

const GiB = 1024 ** 3;

describe('the local stack’s PostgreSQL settings', () => {
  it('turns autovacuum on and sizes memory from the machine’s: a quarter as shared buffers, half as cache', () => {
    expect(settingsFor(24 * GiB)).toEqual({
      autovacuum: 'on',
      shared_buffers: '6144MB',
      effective_cache_size: '12288MB',
      maintenance_work_mem: '1024MB',
      max_wal_size: '4GB',
    });
    expect(settingsFor(4 * GiB)).toMatchObject({
      shared_buffers: '1024MB',
      effective_cache_size: '2048MB',
      maintenance_work_mem: '256MB',
    });
  });

  it('caps shared buffers at 8 GB on a large machine', () => {
    expect(settingsFor(256 * GiB)).toMatchObject({
      shared_buffers: '8192MB',
      maintenance_work_mem: '1024MB',
    });
  });
});
