// The dependency patches as an esbuild plugin, for the bundles of the worker and the event generator: the
// patched packages are bundled (not left external) and patched as esbuild loads them, so a bundle — and an
// image that installs its dependencies with --ignore-scripts — carries the fixes whatever node_modules holds.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { DEPENDENCY_PATCHES } = require('./dependency-patches.cjs');

/** Packages a bundle must include rather than leave external, because they are patched. */
export const PATCHED_PACKAGES = DEPENDENCY_PATCHES.map((p) => p.package);

/** Every npm package of the root manifest except the patched ones, as esbuild `external` entries. */
export function externalPackages(manifest) {
  return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((name) => !PATCHED_PACKAGES.includes(name))
    .flatMap((name) => [name, `${name}/*`]);
}

export const dependencyPatches = {
  name: 'dependency-patches',
  setup(pluginBuild) {
    for (const { filter, patchSource } of DEPENDENCY_PATCHES) {
      pluginBuild.onLoad({ filter }, async (args) => ({
        contents: patchSource(await fs.promises.readFile(args.path, 'utf8')),
        loader: 'js',
      }));
    }
  },
};
