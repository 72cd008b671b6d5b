// The root postinstall script: applies every dependency patch of this folder to node_modules, so tests and
// tools that import the patched packages directly behave like the bundles (which patch their own copies).
const path = require('node:path');
const { patchInstalledDriver } = require('./postgres-driver-patch.cjs');
const { patchInstalledKafkajs } = require('./kafkajs-request-queue-patch.cjs');

const root = path.resolve(__dirname, '..', '..');
const patches = [
  ['postgres driver', patchInstalledDriver],
  ['kafkajs request queue', patchInstalledKafkajs],
];
for (const [name, patch] of patches) {
  const changed = patch(root);
  process.stderr.write(
    `[postinstall] ${name}: ${changed.length ? `patched ${changed.length} file(s)` : 'already patched'}\n`,
  );
}
