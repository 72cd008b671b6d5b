// Bundles the CLI into one CommonJS file. Packages from node_modules stay external (resolved at run
// time); the @els/* path aliases of tsconfig.base.json are bundled in.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

await build({
  absWorkingDir: root,
  entryPoints: ['apps/event-generator/src/main.ts'],
  outfile: 'dist/apps/event-generator/main.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  tsconfig: 'tsconfig.base.json',
  sourcemap: true,
  logLevel: 'warning',
});
