#!/usr/bin/env node
// Bundles the worker into dist/apps/els-worker/main.js (CommonJS, Node 20, npm packages stay external in
// node_modules except the patched ones — the PostgreSQL driver and kafkajs, bundled with their fixes
// applied: docs/adr/0002-postgres-driver-patch.md, docs/adr/0004-kafkajs-request-queue-patch.md,
// docs/adr/0005-kafkajs-offset-commit-coalescing.md) and copies the coordination migrations next to it,
// where the migrator looks for them.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dependencyPatches, externalPackages } from '../../tools/build/bundle-patches.mjs';

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

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = externalPackages(manifest);

await build({
  entryPoints: [path.join(appDir, 'src', 'main.ts')],
  outfile: path.join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external,
  plugins: [dependencyPatches],
  alias: aliases,
  tsconfig: path.join(appDir, 'tsconfig.json'),
  logLevel: 'warning',
});

if (fs.existsSync(migrationsDir)) {
  fs.cpSync(migrationsDir, path.join(outDir, 'drizzle'), { recursive: true });
}
process.stdout.write(`built ${path.relative(root, path.join(outDir, 'main.js'))}\n`);
