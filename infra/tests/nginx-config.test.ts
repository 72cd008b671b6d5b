import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { renderLocalConfig, startLocalNginx } from '../nginx/local-nginx.cjs';
import { infraDir, readText, runTool } from './infra-files';

/** `nginx -t` on a config copied into a private prefix, so the check needs no system paths. */
function nginxTest(configText: string): { status: number | null; output: string } {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'els-nginx-t-'));
  try {
    const config = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(config, configText);
    const result = runTool(
      'nginx',
      ['-t', '-p', prefix, '-c', config, '-e', path.join(prefix, 'error.log')],
      'nginx-light',
    );
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
}

function get(url: string): Promise<{ status: number; body: string; upstream: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body,
            upstream: String(response.headers['x-els-upstream']),
          }),
        );
      })
      .on('error', reject);
  });
}

describe('infra/nginx/nginx.conf.template (Compose load balancer)', () => {
  const template = readText(path.join(infraDir, 'nginx', 'nginx.conf.template'));
  // What nginx's entrypoint renders under Docker (NGINX_LOCAL_RESOLVERS from the container's resolv.conf).
  const text = template.replaceAll('${NGINX_LOCAL_RESOLVERS}', '127.0.0.11');

  it('passes nginx -t', () => {
    const result = nginxTest(text);
    expect(result.output).toContain('syntax is ok');
    expect({ status: result.status, output: result.status === 0 ? '' : result.output }).toEqual({
      status: 0,
      output: '',
    });
  });

  it('fails nginx -t when broken (the check can fail)', () => {
    expect(nginxTest(text.replace('proxy_pass', 'proxy_passs')).status).not.toBe(0);
  });

  it('resolves the replicas through the engine DNS at request time, not once at start', () => {
    expect(template).toMatch(/resolver \$\{NGINX_LOCAL_RESOLVERS\} valid=\d+s/);
    // No other ${...} placeholder: the entrypoint substitutes defined variables only, so one would stay.
    expect(template.match(/\$\{\w+\}/g)).toEqual(['${NGINX_LOCAL_RESOLVERS}']);
    expect(text).toMatch(/set \$els_worker_upstream els-worker:6000;/);
    expect(text).toMatch(/proxy_pass http:\/\/\$els_worker_upstream;/);
    expect(text).not.toMatch(/upstream\s+\w+\s*\{/);
  });
});

describe('infra/nginx/local-nginx.cjs (nginx in front of local replicas)', () => {
  const servers: http.Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function replica(name: string): Promise<string> {
    const server = http.createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ replica: name }));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('renders a config that nginx -t accepts, and refuses an upstream that is not host:port', () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'els-nginx-r-'));
    try {
      const text = renderLocalConfig({
        upstreams: ['127.0.0.1:6001', '127.0.0.1:6002'],
        listenPort: 18_080,
        prefixDir: prefix,
      });
      expect(text).not.toContain('{{');
      expect(text).toContain('server 127.0.0.1:6002');
      expect(nginxTest(text).status).toBe(0);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
    expect(() => renderLocalConfig({ upstreams: ['http://x'], listenPort: 1, prefixDir: '/tmp/x' })).toThrow(
      RangeError,
    );
  });

  it('spreads requests over every replica, skips a dead one, and stops', async () => {
    const upstreams = [await replica('a'), await replica('b'), '127.0.0.1:1'];
    const nginx = await startLocalNginx({ upstreams });
    let pid: number | undefined;
    try {
      pid = nginx.pid;
      const answers = [];
      for (let i = 0; i < 30; i += 1) answers.push(await get(`${nginx.url}/v1/batches/x/status`));
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      const replicas = new Set(
        answers.map((answer) => (JSON.parse(answer.body) as { replica: string }).replica),
      );
      expect([...replicas].sort()).toEqual(['a', 'b']);
    } finally {
      await nginx.stop();
    }
    expect(() => process.kill(pid as number, 0)).toThrow();
    expect(fs.existsSync(nginx.prefixDir)).toBe(false);
  });
});
