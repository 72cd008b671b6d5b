// kafkajs 2.2.4 spins on a 1 ms timer for every broker connection it has used: the request queue's
// scheduleCheckPendingRequests() arms a timer even when nothing is pending, with a negative delay (the
// queue is not throttled), and the timer's callback arms the next one. An idle replica woke ~1,500 times a
// second and spent 4.7 % of a core doing nothing. See docs/adr/0004-kafkajs-request-queue-patch.md.
//
// The edit returns early when no request is pending: push() arms the check when it enqueues one, and a
// throttled queue with pending requests still schedules its check at the end of the throttle.
const { applyEdits, patchInstalledFiles } = require('./source-edits.cjs');

const MARKER = '/* els: no timer without pending requests */';

const EDITS = [
  {
    find: `    let scheduleAt = this.throttledUntil - Date.now()
    if (!this.throttleCheckTimeoutId) {`,
    replace: `    let scheduleAt = this.throttledUntil - Date.now()
    if (this.pending.length === 0) return ${MARKER}
    if (!this.throttleCheckTimeoutId) {`,
    occurrences: 1,
    applied: MARKER,
  },
];

/** Matches the request queue's file in an esbuild onLoad filter. */
const REQUEST_QUEUE_FILTER = /kafkajs[\\/]src[\\/]network[\\/]requestQueue[\\/]index\.js$/;

/** Returns the patched source of kafkajs/src/network/requestQueue/index.js; idempotent. */
function patchRequestQueueSource(source) {
  return applyEdits(source, EDITS, 'kafkajs src/network/requestQueue/index.js (2.2.x)');
}

/** Patches the installed kafkajs in place; returns the files changed. */
function patchInstalledKafkajs(root) {
  return patchInstalledFiles(root, 'kafkajs', ['src/network/requestQueue/index.js'], patchRequestQueueSource);
}

module.exports = { patchRequestQueueSource, patchInstalledKafkajs, REQUEST_QUEUE_FILTER, MARKER };
