// Every dependency patch of this folder, once: the bundles (bundle-patches.mjs) and the root postinstall
// (postinstall.cjs) both read this list, so a patch added here reaches node_modules and the bundles alike.
const postgres = require('./postgres-driver-patch.cjs');
const kafkajs = require('./kafkajs-request-queue-patch.cjs');
const kafkajsCommits = require('./kafkajs-offset-commit-patch.cjs');

const DEPENDENCY_PATCHES = [
  {
    name: 'postgres driver',
    package: 'postgres',
    filter: postgres.CONNECTION_FILTER,
    patchSource: postgres.patchConnectionSource,
    patchInstalled: postgres.patchInstalledDriver,
  },
  {
    name: 'kafkajs request queue',
    package: 'kafkajs',
    filter: kafkajs.REQUEST_QUEUE_FILTER,
    patchSource: kafkajs.patchRequestQueueSource,
    patchInstalled: kafkajs.patchInstalledKafkajs,
  },
  {
    name: 'kafkajs offset commits',
    package: 'kafkajs',
    filter: kafkajsCommits.OFFSET_MANAGER_FILTER,
    patchSource: kafkajsCommits.patchOffsetManagerSource,
    patchInstalled: kafkajsCommits.patchInstalledOffsetManager,
  },
];

module.exports = { DEPENDENCY_PATCHES };
