import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { composeFile, infraDir, readText, readYaml } from './infra-files';

/**
 * The worker's container health checks, run as the engine runs them, against an HTTP server on the port
 * they probe (6000). Port 6000 matters: fetch refuses it ("bad port"), so a fetch-based probe never passes.
 */

interface Compose {
  services: Record<string, { healthcheck?: { test?: string[] } }>;
}

function probeCommand(test: string[]): string[] {
  if (test[0] === 'CMD-SHELL') return ['sh', '-c', test.slice(1).join(' ')];
  if (test[0] === 'CMD') return test.slice(1);
  throw new Error(`unexpected healthcheck form ${test[0]}`);
}

function dockerfileHealthcheck(): string[] {
  const text = readText(path.join(infraDir, 'Dockerfile')).replace(/\\\n/g, ' ');
  const match = /^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$/m.exec(text);
  if (!match?.[1]) throw new Error('no exec-form HEALTHCHECK CMD in infra/Dockerfile');
  return JSON.parse(match[1]) as string[];
}

function run(command: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0] as string, command.slice(1), {
      stdio: 'ignore',
      env: { PATH: process.env['PATH'] ?? '' },
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('worker health checks (Compose and Dockerfile), run against a server on port 6000', () => {
  let status = 200;
  const paths: string[] = [];
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? '');
    response.statusCode = status;
    response.end('{}');
  });
  beforeAll(async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(new Error(`port 6000 must be free for this test: ${(error as Error).message}`)),
      );
      server.listen(6000, '127.0.0.1', resolve);
    });
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const probes: [string, string[], string][] = [
    [
      'compose els-worker',
      probeCommand(readYaml<Compose>(composeFile).services['els-worker']?.healthcheck?.test ?? []),
      '/readyz',
    ],
    ['Dockerfile runtime', dockerfileHealthcheck(), '/healthz'],
  ];

  it.each(probes)('%s passes on 200, fails on 503 and names %s', async (_name, command, probed) => {
    paths.length = 0;
    status = 200;
    expect(await run(command)).toBe(0);
    status = 503;
    expect(await run(command)).toBe(1);
    expect(paths).toEqual([probed, probed]);
  });

  it('a fetch-based probe of port 6000 fails even against a healthy server (why the probes use node:http)', async () => {
    status = 200;
    const fetchProbe = [
      'node',
      '-e',
      "fetch('http://127.0.0.1:6000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
    ];
    expect(await run(fetchProbe)).toBe(1);
  });
});
