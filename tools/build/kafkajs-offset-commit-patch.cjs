// kafkajs 2.2.4 commits the resolved offsets after every partition batch a consumer has processed: with
// `eachBatch` and N partitions consumed concurrently, N batches that end together send N OffsetCommit
// requests, each with every resolved offset of the consumer. The broker answers the requests of one
// connection one at a time, so the last partition's batch waits for all of them before the next fetch.
// See docs/adr/0005-kafkajs-offset-commit-coalescing.md.
//
// The edit makes the offset manager's commit of the resolved offsets single-flight: a call while a commit
// is in flight waits for it and then for one further commit, which every such call shares and which
// carries everything resolved by the time it starts. Each call still returns only after a commit that
// began after the call (so its offsets, resolved before it, are in that commit or an earlier one), and
// fails when that commit fails. A commit of explicit offsets is sent at once, as before.
const { applyEdits, patchInstalledFiles } = require('./source-edits.cjs');

const MARKER = '/* els: concurrent commits of the resolved offsets share one request */';

const EDITS = [
  {
    find: `  async commitOffsets(offsets = {}) {
    const { groupId, generationId, memberId } = this`,
    replace: `  commitOffsets(offsets = {}) ${MARKER} {
    if (offsets.topics) return this.commitOffsetsNow(offsets)
    if (!this.commitInFlight) {
      this.commitInFlight = this.commitOffsetsNow().finally(() => {
        this.commitInFlight = null
      })
      return this.commitInFlight
    }
    if (!this.commitQueued) {
      this.commitQueued = this.commitInFlight
        .catch(() => undefined)
        .then(() => {
          this.commitQueued = null
          return this.commitOffsets()
        })
    }
    return this.commitQueued
  }

  async commitOffsetsNow(offsets = {}) {
    const { groupId, generationId, memberId } = this`,
    occurrences: 1,
    applied: MARKER,
  },
];

/** Matches the offset manager's file in an esbuild onLoad filter. */
const OFFSET_MANAGER_FILTER = /kafkajs[\\/]src[\\/]consumer[\\/]offsetManager[\\/]index\.js$/;

/** Returns the patched source of kafkajs/src/consumer/offsetManager/index.js; idempotent. */
function patchOffsetManagerSource(source) {
  return applyEdits(source, EDITS, 'kafkajs src/consumer/offsetManager/index.js (2.2.x)');
}

/** Patches the installed kafkajs in place; returns the files changed. */
function patchInstalledOffsetManager(root) {
  return patchInstalledFiles(
    root,
    'kafkajs',
    ['src/consumer/offsetManager/index.js'],
    patchOffsetManagerSource,
  );
}

module.exports = {
  patchOffsetManagerSource,
  patchInstalledOffsetManager,
  OFFSET_MANAGER_FILTER,
  MARKER,
};
