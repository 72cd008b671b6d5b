// The dependency patches as an esbuild plugin, for the bundles of the worker and the event generator: the
// patched packages are bundled (not left external) and patched as esbuild loads them, so a bundle — and an
// image that installs its dependencies with --ignore-scripts — carries the fixes whatever node_modules holds.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { patchConnectionSource, CONNECTION_FILTER } = require('./postgres-driver-patch.cjs');
const { patchRequestQueueSource, REQUEST_QUEUE_FILTER } = require('./kafkajs-request-queue-patch.cjs');

/** Packages a bundle must include rather than leave external, because they are patched. */
export const PATCHED_PACKAGES = ['postgres', 'kafkajs'];

/** Every npm package of the root manifest except the patched ones, as esbuild `external` entries. */
export function externalPackages(manifest) {
  return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((name) => !PATCHED_PACKAGES.includes(name))
    .flatMap((name) => [name, `${name}/*`]);
}

const PATCHES = [
  { filter: CONNECTION_FILTER, patch: patchConnectionSource },
  { filter: REQUEST_QUEUE_FILTER, patch: patchRequestQueueSource },
];

export const dependencyPatches = {
  name: 'dependency-patches',
  setup(pluginBuild) {
    for (const { filter, patch } of PATCHES) {
      pluginBuild.onLoad({ filter }, async (args) => ({
        contents: patch(await fs.promises.readFile(args.path, 'utf8')),
        loader: 'js',
      }));
    }
  },
};
