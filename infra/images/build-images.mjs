// `npm run images`: builds, with Podman, every image infra/compose/distributed-test.yml needs, from a
// Debian bookworm base made here with mmdebstrap, for machines that reach Debian's packages but no image
// registry. Idempotent: the base is made once (`--rebuild-base` makes it again), every other image is a
// `podman build` whose unchanged layers come from the cache, so a second run takes seconds.
// The images and the Compose override that selects them: infra/compose/local-images.yml;
// the route and its limits: docs/adr/0003-local-container-images.md.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { repoRoot } from '../local/stack.mjs';
import { engineEnv, engineUp, podman } from './container-engine.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const workDir = path.join(repoRoot, '.cache', 'images');

export const BASE_IMAGE = 'localhost/els-local/debian:bookworm';

/** The service images, in build order; `tag` is what infra/compose/local-images.yml names. */
export const SERVICE_IMAGES = [
  { name: 'node', tag: 'localhost/els-local/node:20-slim' },
  { name: 'postgres', tag: 'localhost/els-local/postgres:15' },
  { name: 'redis', tag: 'localhost/els-local/redis:7' },
  { name: 'kafka', tag: 'localhost/els-local/kafka:4.1.1' },
  { name: 'nginx', tag: 'localhost/els-local/nginx:1.22' },
  { name: 'prometheus', tag: 'localhost/els-local/prometheus:2.42' },
];

/** The project's own images, built from infra/Dockerfile on the local Node image. */
export const PROJECT_IMAGES = [
  { name: 'els-worker', tag: 'localhost/els-worker:local', target: 'runtime' },
  { name: 'event-generator', tag: 'localhost/els-event-generator:local', target: 'event-generator' },
];

const log = (message) => console.error(`[images] ${message}`);
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function imageExists(tag) {
  try {
    podman(['image', 'exists', tag]);
    return true;
  } catch {
    return false;
  }
}

/** Runs a long command with its output prefixed, so a build shows progress line by line. */
function runStreaming(command, args, prefix) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: { ...process.env, ...engineEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail = [];
    const relay = (chunk) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (/^(\[\d+\/\d+\] )?(STEP|COMMIT|Successfully|I: |E: |W: )/.test(line))
          console.error(`[${prefix}] ${line}`);
      }
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args[0]} exited with ${code}:\n${tail.join('\n')}`));
    });
  });
}

/** Debian's apt sources of this machine, so the base reaches the same package mirror as the host. */
function hostAptSources() {
  const candidates = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];
  const found = candidates.find((file) => fs.existsSync(file) && fs.statSync(file).size > 0);
  if (!found) throw new Error(`no apt sources on this machine (looked for ${candidates.join(', ')})`);
  return found;
}

async function buildBase({ rebuild }) {
  if (!rebuild && imageExists(BASE_IMAGE)) {
    log(`${BASE_IMAGE} exists (--rebuild-base makes it again)`);
    return;
  }
  const started = Date.now();
  const tarball = path.join(workDir, 'debian-bookworm.tar');
  fs.mkdirSync(workDir, { recursive: true });
  log(`making ${BASE_IMAGE} with mmdebstrap (minbase bookworm)`);
  await runStreaming(
    'mmdebstrap',
    ['--variant=minbase', '--mode=root', '--format=tar', 'bookworm', tarball, hostAptSources()],
    'mmdebstrap',
  );
  podman(['import', '--change', 'CMD ["/bin/bash"]', tarball, BASE_IMAGE]);
  fs.rmSync(tarball, { force: true });
  log(`${BASE_IMAGE} made in ${seconds(started)}`);
}

function copyDir(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true, dereference: true });
}

/** The Kafka broker's jars with its tools (profile `image` of the local stack's POM). */
function kafkaJars(libsDir) {
  if (fs.existsSync(libsDir) && fs.readdirSync(libsDir).some((f) => f.startsWith('kafka-tools-'))) return;
  log('resolving the Kafka jars with Maven (first run only)');
  fs.mkdirSync(libsDir, { recursive: true });
  execFileSync(
    'mvn',
    [
      '-B',
      '-q',
      '-P',
      'image',
      '-f',
      path.join(repoRoot, 'infra', 'local', 'kafka', 'pom.xml'),
      'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${libsDir}`,
    ],
    { stdio: 'inherit' },
  );
}

/** Build context of a service image: its folder plus what it takes from this machine. */
function serviceContext(name) {
  const context = path.join(workDir, 'context', name);
  const libsDir = path.join(workDir, 'kafka-libs');
  if (name === 'kafka') kafkaJars(libsDir);
  copyDir(path.join(here, name), context);
  if (name === 'node') {
    fs.copyFileSync(
      fs.realpathSync(execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim()),
      path.join(context, 'node'),
    );
    const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
    copyDir(path.resolve(path.dirname(npmCli), '..'), path.join(context, 'npm'));
    fs.copyFileSync('/etc/ssl/certs/ca-certificates.crt', path.join(context, 'ca-certificates.crt'));
  }
  if (name === 'kafka') {
    copyDir(libsDir, path.join(context, 'libs'));
    for (const file of ['log4j2.yaml', 'tools-log4j2.yaml'])
      fs.copyFileSync(path.join(repoRoot, 'infra', 'local', 'kafka', file), path.join(context, file));
  }
  return context;
}

async function buildService({ name, tag }) {
  const started = Date.now();
  const context = serviceContext(name);
  await runStreaming(
    'podman',
    [
      'build',
      '--layers',
      '--build-arg',
      `BASE_IMAGE=${BASE_IMAGE}`,
      '-t',
      tag,
      '-f',
      path.join(context, 'Containerfile'),
      context,
    ],
    name,
  );
  log(`${tag} ready in ${seconds(started)}`);
}

async function buildProject({ name, tag, target }) {
  const started = Date.now();
  await runStreaming(
    'podman',
    [
      'build',
      '--layers',
      '--build-arg',
      `NODE_IMAGE=${SERVICE_IMAGES[0].tag}`,
      '--target',
      target,
      '-t',
      tag,
      '-f',
      path.join(repoRoot, 'infra', 'Dockerfile'),
      repoRoot,
    ],
    name,
  );
  log(`${tag} ready in ${seconds(started)}`);
}

function parseArgs(argv) {
  const options = { rebuildBase: false, only: undefined };
  for (const arg of argv) {
    if (arg === '--rebuild-base') options.rebuildBase = true;
    else if (arg.startsWith('--only=')) options.only = new Set(arg.slice('--only='.length).split(','));
    else if (arg === '--list') options.list = true;
    else throw new Error(`unknown option ${arg}; use --rebuild-base, --only=<name,...> or --list`);
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const all = [...SERVICE_IMAGES, ...PROJECT_IMAGES];
  if (options.list) {
    for (const image of all) console.log(`${image.name}\t${image.tag}`);
    return;
  }
  if (options.only) {
    const unknown = [...options.only].filter((name) => !all.some((image) => image.name === name));
    if (unknown.length > 0) throw new Error(`unknown image ${unknown.join(', ')} (see --list)`);
  }
  const started = Date.now();
  log(`container engine: Podman API service ${await engineUp()}`);
  await buildBase({ rebuild: options.rebuildBase });
  const wanted = (image) => !options.only || options.only.has(image.name);
  for (const image of SERVICE_IMAGES.filter(wanted)) await buildService(image);
  for (const image of PROJECT_IMAGES.filter(wanted)) await buildProject(image);
  log(`all images ready in ${seconds(started)}; run the stack with: npm run compose -- up -d`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`[images] ${error.message}`);
    process.exit(1);
  });
}
