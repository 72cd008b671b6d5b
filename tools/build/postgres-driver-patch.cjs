// postgres.js 3.4.9 can crash the whole process when PostgreSQL restarts under load: a small write is
// deferred with setImmediate, the connection closes before it runs (closed() sets `socket = null`), and
// nextWrite() then calls `null.write`, throwing from an immediate callback that no caller can catch.
// The teardown paths also cancel that immediate without resetting `nextWriteTimer`/`chunk`, so a stale
// buffer can be flushed into the next socket. See docs/adr/0002-postgres-driver-patch.md.
//
// This module rewrites the driver's connection.js: nextWrite() settles the pending query with a
// CONNECTION_CLOSED error (retriable for the worker) instead of throwing, teardown resets the write
// buffer, and the array types read of a fresh connection cannot leave an unhandled rejection when the
// connection is terminated during it (the query that opened the connection gets the error). It is applied to node_modules by the root postinstall script (postinstall.cjs) and to the
// bundles by their esbuild builds (bundle-patches.mjs). Unknown driver source fails loudly, so an upgrade forces a re-check.
const { applyEdits, patchInstalledFiles } = require('./source-edits.cjs');

const MARKER = '/* els: guarded nextWrite */';

/** The edits, for postgres.js 3.4.x (see source-edits.cjs for their shape). */
const EDITS = [
  {
    // A write that runs after the socket is gone settles the query instead of throwing.
    find: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)`,
    replace: `  function nextWrite(fn) { ${MARKER}
    if (!socket) {
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
    occurrences: 1,
    applied: MARKER,
  },
  {
    // Teardown drops the buffered write and its timer, so nothing stale reaches the next socket.
    find: `    clearImmediate(nextWriteTimer)
    socket`,
    replace: `    clearImmediate(nextWriteTimer)
    nextWriteTimer = chunk = null /* els: reset write buffer */
    socket`,
    occurrences: 1,
    applied: 'els: reset write buffer */\n    socket',
  },
  {
    find: `    clearImmediate(nextWriteTimer)
    if (socket) {`,
    replace: `    clearImmediate(nextWriteTimer)
    nextWriteTimer = chunk = null /* els: reset write buffer */
    if (socket) {`,
    occurrences: 1,
    applied: 'els: reset write buffer */\n    if (socket)',
  },
  {
    // A fresh connection reads the array types before the query that opened it, from a handler whose
    // return value nobody holds: when the connection is terminated during that read, errored() already
    // failed the waiting query, and the read's own rejection must not become an unhandled rejection
    // (which stops the worker).
    find: `        return fetchArrayTypes()`,
    replace: `        return fetchArrayTypes().catch(() => undefined) /* els: types read settled */`,
    occurrences: 1,
    applied: 'els: types read settled */',
  },
];

/** Returns the patched source of postgres/(cjs/)src/connection.js; idempotent. */
function patchConnectionSource(source) {
  return applyEdits(source, EDITS, 'postgres driver connection.js (3.4.x)');
}

/** Matches the driver's connection.js (ESM and CommonJS copies) in an esbuild onLoad filter. */
const CONNECTION_FILTER = /postgres[\\/](cjs[\\/])?src[\\/]connection\.js$/;

/** Patches the installed driver in place; returns the files changed. */
function patchInstalledDriver(root) {
  return patchInstalledFiles(
    root,
    'postgres',
    ['cjs/src/connection.js', 'src/connection.js'],
    patchConnectionSource,
  );
}

module.exports = { patchConnectionSource, patchInstalledDriver, CONNECTION_FILTER, MARKER };
