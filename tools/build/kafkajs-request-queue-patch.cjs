// kafkajs 2.2.4 spins on a 1 ms timer for every broker connection it has used: the request queue's
// scheduleCheckPendingRequests() arms a timer even when nothing is pending, with a negative delay (the
// queue is not throttled), and the timer's callback arms the next one. An idle replica woke ~1,500 times a
// second and spent 4.7 % of a core doing nothing. See docs/adr/0004-kafkajs-request-queue-patch.md.
//
// The first edit returns early when no request is pending: push() arms the check when it enqueues one,
// and a throttled queue with pending requests still schedules its check at the end of the throttle.
//
// The second edit slows the request-timeout check: every connected broker connection runs an interval
// at min(requestTimeout, 100 ms) to look for requests past their timeout, ten wake-ups a second per
// connection whether anything is in flight or not. It runs at a tenth of the request timeout now (1 s for
// the worker's 30 s), never more often than before, so a request still times out within 10 % of its
// timeout.
const { applyEdits, patchInstalledFiles } = require('./source-edits.cjs');

const MARKER = '/* els: no timer without pending requests */';
const TIMEOUT_CHECK_MARKER = '/* els: request timeouts checked at a tenth of the timeout */';

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
  {
    find: `      }, Math.min(this.requestTimeout, 100))`,
    replace: `      }, Math.max(100, Math.min(this.requestTimeout / 10, 1000))) ${TIMEOUT_CHECK_MARKER}`,
    occurrences: 1,
    applied: TIMEOUT_CHECK_MARKER,
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

module.exports = {
  patchRequestQueueSource,
  patchInstalledKafkajs,
  REQUEST_QUEUE_FILTER,
  MARKER,
  TIMEOUT_CHECK_MARKER,
};
