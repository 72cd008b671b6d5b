#!/usr/bin/env node
// Bundles the worker into dist/apps/els-worker/main.js (CommonJS, Node 20, packages stay external in
// node_modules) and copies the coordination migrations next to it, where the migrator looks for them.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(appDir, '..', '..');
const outDir = path.join(root, 'dist', 'apps', 'els-worker');
const migrationsDir = path.join(root, 'libs', 'coordination', 'drizzle');

fs.rmSync(outDir, { recursive: true, force: true });

// Workspace libraries are bundled from source through the tsconfig path aliases; npm packages are not.
const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.base.json'), 'utf8'));
const aliases = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [alias, path.join(root, target)]),
);

await build({
  entryPoints: [path.join(appDir, 'src', 'main.ts')],
  outfile: path.join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  packages: 'external',
  alias: aliases,
  tsconfig: path.join(appDir, 'tsconfig.json'),
  logLevel: 'warning',
});

if (fs.existsSync(migrationsDir)) {
  fs.cpSync(migrationsDir, path.join(outDir, 'drizzle'), { recursive: true });
}
process.stdout.write(`built ${path.relative(root, path.join(outDir, 'main.js'))}\n`);
