import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeFile, readText, readYaml, repoRoot, runTool, workerConfigKeys } from './infra-files';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  profiles?: string[];
  restart?: string;
  stop_grace_period?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const compose = readYaml<ComposeFile>(composeFile);
const services = compose.services;
const composeDir = path.dirname(composeFile);

/** Seconds of a Compose duration such as `30s`, `1m30s`. */
function durationSeconds(value: string): number {
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(h|m|s)/g)) {
    total += Number(amount) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1);
  }
  return total;
}

describe('infra/compose/distributed-test.yml', () => {
  it('is valid against the Compose schema (docker-compose config -q)', () => {
    const result = runTool('docker-compose', ['-f', composeFile, 'config', '-q'], 'docker-compose');
    expect(result.stderr.replace(/^WARNING.*$/gm, '').trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('is rejected by the same check when a service has an unknown key (the check can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'els-compose-'));
    try {
      const broken = path.join(dir, 'broken.yml');
      fs.writeFileSync(broken, readText(composeFile).replace('  redis:\n', '  redis:\n    replicaz: 3\n'));
      const result = runTool('docker-compose', ['-f', broken, 'config', '-q'], 'docker-compose');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('replicaz');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names only ELS_* variables that are keys of the worker configuration schema', () => {
    const keys = workerConfigKeys();
    expect(keys.length).toBeGreaterThanOrEqual(10);
    expect(keys).toEqual(expect.arrayContaining(['ELS_DATABASE_URL', 'ELS_REDIS_URL', 'ELS_KAFKA_BROKERS']));
    const environmentNames = Object.values(services).flatMap((service) =>
      Object.keys(service.environment ?? {}),
    );
    const mentioned = [...readText(composeFile).matchAll(/\bELS_[A-Z0-9_]+/g)].map((match) => match[0]);
    const els = [...new Set([...environmentNames.filter((name) => name.startsWith('ELS_')), ...mentioned])];
    expect(els.length).toBeGreaterThan(3);
    expect(els.filter((name) => !keys.includes(name))).toEqual([]);
    for (const name of ['migrate', 'els-worker']) {
      expect(Object.keys(services[name]?.environment ?? {})).toEqual(
        expect.arrayContaining(['ELS_DATABASE_URL', 'ELS_REDIS_URL', 'ELS_KAFKA_BROKERS']),
      );
    }
  });

  it('runs the required services on the expected images', () => {
    expect(services['postgres']?.image).toBe('postgres:15');
    expect(services['redis']?.image).toBe('redis:7');
    expect(services['kafka']?.image).toMatch(/^apache\/kafka:/);
    expect(services['kafka']?.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    for (const name of ['migrate', 'els-worker', 'nginx', 'prometheus', 'grafana', 'event-generator']) {
      expect(services[name]).toBeDefined();
    }
  });

  it('runs the worker image from infra/Dockerfile as a one-shot migrate and as replicas', () => {
    const worker = services['els-worker'] as ComposeService;
    const migrate = services['migrate'] as ComposeService;
    expect(migrate.image).toBe(worker.image);
    expect(migrate.command).toEqual(['migrate']);
    expect(migrate.restart).toBe('no');
    expect(worker.command).toEqual(['start']);
    expect(worker.build?.dockerfile).toBe('infra/Dockerfile');
    expect(path.resolve(composeDir, worker.build?.context ?? '')).toBe(repoRoot);
    expect(worker.deploy?.replicas).toBeGreaterThanOrEqual(3);
    // Published ports would clash between replicas (and block --scale).
    expect(worker.ports).toBeUndefined();
    expect(worker.depends_on?.['migrate']?.condition).toBe('service_completed_successfully');
    const graceMs = Number(worker.environment?.['ELS_SHUTDOWN_GRACE_MS'] ?? 15_000);
    expect(durationSeconds(worker.stop_grace_period ?? '10s') * 1000).toBeGreaterThan(graceMs);
  });

  it('publishes nginx, Prometheus and Grafana, and the data services on loopback only, each a different port', () => {
    const published = Object.entries(services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, host: port.replace(/:\d+$/, '') })),
    );
    expect(published.map((entry) => entry.name).sort()).toEqual([
      'grafana',
      'kafka',
      'nginx',
      'postgres',
      'prometheus',
      'redis',
    ]);
    for (const entry of published.filter((p) => ['kafka', 'postgres', 'redis'].includes(p.name)))
      expect(entry.host).toMatch(/^127\.0\.0\.1:/);
    expect(new Set(published.map((entry) => entry.host.replace(/^127\.0\.0\.1:/, ''))).size).toBe(
      published.length,
    );
  });

  it('advertises Kafka to the host on the port it publishes there', () => {
    const kafka = services['kafka'];
    const advertised = kafka?.environment?.['KAFKA_ADVERTISED_LISTENERS'] ?? '';
    const hostListener = /HOST:\/\/127\.0\.0\.1:(\$\{KAFKA_HOST_PORT:-\d+\})/.exec(advertised)?.[1];
    expect(hostListener).toBeDefined();
    expect(kafka?.ports).toContain(`127.0.0.1:${hostListener}:29092`);
    expect(kafka?.environment?.['KAFKA_LISTENERS']).toContain('HOST://:29092');
    expect(kafka?.environment?.['KAFKA_LOG_DIRS']).toBe('/var/lib/kafka/data');
  });

  it('waits on healthchecks: every depends_on has a condition, and service_healthy targets have a healthcheck', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [target, dependency] of Object.entries(service.depends_on ?? {})) {
        expect({ name, target, known: target in services }).toEqual({ name, target, known: true });
        expect(['service_healthy', 'service_completed_successfully', 'service_started']).toContain(
          dependency.condition,
        );
        if (dependency.condition === 'service_healthy') {
          expect({ target, healthcheck: Boolean(services[target]?.healthcheck?.test) }).toEqual({
            target,
            healthcheck: true,
          });
        }
      }
    }
    for (const name of ['postgres', 'redis', 'kafka', 'els-worker', 'nginx', 'prometheus', 'grafana']) {
      expect({ name, healthcheck: Boolean(services[name]?.healthcheck?.test) }).toEqual({
        name,
        healthcheck: true,
      });
    }
  });

  it('mounts configuration files that exist', () => {
    const mounts = Object.values(services).flatMap((service) =>
      (service.volumes ?? [])
        .filter((volume) => volume.startsWith('.'))
        .map((volume) => volume.split(':')[0] as string),
    );
    expect(mounts.length).toBeGreaterThanOrEqual(5);
    for (const mount of mounts)
      expect({ mount, exists: fs.existsSync(path.resolve(composeDir, mount)) }).toEqual({
        mount,
        exists: true,
      });
  });

  it('runs the event generator once, under the generate profile, with flags the generator accepts', () => {
    const generator = services['event-generator'] as ComposeService;
    expect(generator.profiles).toEqual(['generate']);
    expect(generator.restart).toBe('no');
    expect(generator.build?.target).toBe('event-generator');
    expect(generator.command?.[0]).toBe('produce');
    const usage = readText(path.join(repoRoot, 'apps', 'event-generator', 'src', 'cli-usage.ts'));
    const flags = (generator.command ?? []).slice(1).map((arg) => arg.split('=')[0] as string);
    expect(flags.length).toBeGreaterThan(5);
    expect(flags.filter((flag) => !usage.includes(`  ${flag} `) && !usage.includes(`  ${flag}\n`))).toEqual(
      [],
    );
  });
});

describe('infra/compose/local-images.yml (the same stack on locally built images)', () => {
  const override = path.join(composeDir, 'local-images.yml');
  const local = readYaml<ComposeFile>(override).services;

  it('is valid on top of distributed-test.yml (docker-compose config -q)', () => {
    const result = runTool(
      'docker-compose',
      ['-f', composeFile, '-f', override, 'config', '-q'],
      'docker-compose',
    );
    expect(result.stderr.replace(/^WARNING.*$/gm, '').trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('gives every service of the base file a local image, except Grafana, which moves to a profile', () => {
    for (const name of Object.keys(services)) {
      if (name === 'grafana') expect(local[name]?.profiles).toEqual(['grafana']);
      else
        expect({ name, image: local[name]?.image }).toEqual({
          name,
          image: expect.stringMatching(/^localhost\//),
        });
    }
    expect(Object.keys(local).sort()).toEqual(Object.keys(services).sort());
  });

  it('names only images that `npm run images` builds', () => {
    const result = runTool(
      'node',
      [path.join(repoRoot, 'infra', 'images', 'build-images.mjs'), '--list'],
      'nodejs',
    );
    expect(result.status).toBe(0);
    const built = new Set(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t')[1]),
    );
    const named = Object.values(local).flatMap((service) => (service.image ? [service.image] : []));
    expect(named.filter((image) => !built.has(image))).toEqual([]);
  });
});
