// Bundles the CLI into one CommonJS file. Packages from node_modules stay external (resolved at run
// time) except the patched ones (tools/build/bundle-patches.mjs), which are bundled with their fixes; the
// @els/* path aliases of tsconfig.base.json are bundled in.
import { build } from 'esbuild';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { dependencyPatches, externalPackages } from '../../tools/build/bundle-patches.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

await build({
  absWorkingDir: root,
  entryPoints: ['apps/event-generator/src/main.ts'],
  outfile: 'dist/apps/event-generator/main.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: externalPackages(JSON.parse(fs.readFileSync(join(root, 'package.json'), 'utf8'))),
  plugins: [dependencyPatches],
  tsconfig: 'tsconfig.base.json',
  sourcemap: true,
  logLevel: 'warning',
});
