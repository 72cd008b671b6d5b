import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

/** Paths and readers shared by the deployment validation tests. */

export const repoRoot = path.resolve(__dirname, '..', '..');
export const infraDir = path.join(repoRoot, 'infra');
export const composeFile = path.join(infraDir, 'compose', 'distributed-test.yml');
export const workerConfigSource = path.join(repoRoot, 'apps', 'els-worker', 'src', 'config.ts');

export function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** One YAML document, with `<<:` merge keys resolved (the Compose file uses anchors). */
export function readYaml<T = unknown>(file: string): T {
  return parseYaml(readText(file), { merge: true }) as T;
}

export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readText(file)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS({ maxAliasCount: -1 });
  });
}

/**
 * The worker's configuration keys, read from the `configShape` object of apps/els-worker/src/config.ts as
 * text: module boundaries do not let a tool project import the app, and a copied list would drift.
 */
export function workerConfigKeys(): string[] {
  const source = readText(workerConfigSource);
  const start = source.indexOf('const configShape = {');
  const end = source.indexOf('} as const;', start);
  if (start < 0 || end < 0)
    throw new Error(`no "const configShape = { … } as const;" in ${workerConfigSource}`);
  return [...source.slice(start, end).matchAll(/^\s{2}(ELS_[A-Z0-9_]+):/gm)].map(
    (match) => match[1] as string,
  );
}

/** Runs a tool; if it is not installed, the failure says which Debian package provides it. */
export function runTool(
  command: string,
  args: readonly string[],
  debianPackage: string,
  options: { cwd?: string; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${command} is not installed: apt-get install -y ${debianPackage} (.ci/run installs it)`);
  }
  return result;
}
