// The root postinstall script: applies every dependency patch of this folder to node_modules, so tests and
// tools that import the patched packages directly behave like the bundles (which patch their own copies).
const path = require('node:path');
const { DEPENDENCY_PATCHES } = require('./dependency-patches.cjs');

const root = path.resolve(__dirname, '..', '..');
for (const { name, patchInstalled } of DEPENDENCY_PATCHES) {
  const changed = patchInstalled(root);
  process.stderr.write(
    `[postinstall] ${name}: ${changed.length ? `patched ${changed.length} file(s)` : 'already patched'}\n`,
  );
}
