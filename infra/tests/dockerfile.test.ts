import path from 'node:path';
import { infraDir, readText, repoRoot } from './infra-files';

interface Stage {
  name: string;
  from: string;
  instructions: { keyword: string; args: string }[];
}

/** Stages of a Dockerfile with their instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, from = '', name = ''] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      stages.push({ name, from, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readText(path.join(infraDir, 'Dockerfile')));
const stage = (name: string) => stages.find((s) => s.name === name) as Stage;
const all = (name: string, keyword: string) =>
  stage(name)
    .instructions.filter((instruction) => instruction.keyword === keyword)
    .map((i) => i.args);

describe('infra/Dockerfile', () => {
  it('builds the worker with Nx in a build stage and ends with the worker runtime (the default target)', () => {
    expect(readText(path.join(infraDir, 'Dockerfile'))).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    expect(stage('build').from).toBe('${NODE_IMAGE}');
    expect(all('build', 'RUN').join('\n')).toContain('npx nx run els-worker:build');
    expect(all('build', 'RUN').join('\n')).toMatch(/npm ci(?! --omit)/);
    expect(stages.at(-1)?.name).toBe('runtime');
  });

  it('installs production dependencies only, on node:20-slim (or the NODE_IMAGE given)', () => {
    expect(stage('production-deps').from).toBe('${NODE_IMAGE}');
    expect(all('production-deps', 'RUN').join('\n')).toContain('npm ci --omit=dev');
    expect(stage('runtime').from).toBe('production-deps');
    expect(all('runtime', 'COPY')).toEqual(['--from=build /app/dist/apps/els-worker ./dist/apps/els-worker']);
  });

  it('runs as a non-root user, checks /healthz on port 6000 and defaults to `start`', () => {
    const users = all('runtime', 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const healthcheck = all('runtime', 'HEALTHCHECK').join('\n');
    expect(healthcheck).toContain('/healthz');
    expect(healthcheck).toContain('6000');
    expect(all('runtime', 'ENTRYPOINT')).toEqual(['["node", "dist/apps/els-worker/main.js"]']);
    expect(all('runtime', 'CMD')).toEqual(['["start"]']);
  });

  it('keeps node_modules, dist and the git folder out of the build context', () => {
    const ignored = readText(path.join(repoRoot, '.dockerignore')).split('\n');
    for (const entry of ['.git', '**/node_modules', 'dist']) expect(ignored).toContain(entry);
  });
});
