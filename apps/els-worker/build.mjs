#!/usr/bin/env node
// Bundles the worker into dist/apps/els-worker/main.js (CommonJS, Node 20, npm packages stay external in
// node_modules except the PostgreSQL driver, which is bundled with the nextWrite guard applied — see
// docs/adr/0002-postgres-driver-patch.md) and copies the coordination migrations next to it, where the
// migrator looks for them.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { patchConnectionSource } = require('../../tools/build/postgres-driver-patch.cjs');

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
const external = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
  .filter((name) => name !== 'postgres')
  .flatMap((name) => [name, `${name}/*`]);

/** Applies the driver patch to the bundled copy, whatever state node_modules is in. */
const postgresDriverPatch = {
  name: 'postgres-driver-patch',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /postgres[\\/](cjs[\\/])?src[\\/]connection\.js$/ }, async (args) => ({
      contents: patchConnectionSource(await fs.promises.readFile(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: [path.join(appDir, 'src', 'main.ts')],
  outfile: path.join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external,
  plugins: [postgresDriverPatch],
  alias: aliases,
  tsconfig: path.join(appDir, 'tsconfig.json'),
  logLevel: 'warning',
});

if (fs.existsSync(migrationsDir)) {
  fs.cpSync(migrationsDir, path.join(outDir, 'drizzle'), { recursive: true });
}
process.stdout.write(`built ${path.relative(root, path.join(outDir, 'main.js'))}\n`);
