// postgres.js 3.4.9 can crash the whole process when PostgreSQL restarts under load: a small write is
// deferred with setImmediate, the connection closes before it runs (closed() sets `socket = null`), and
// nextWrite() then calls `null.write`, throwing from an immediate callback that no caller can catch.
// The teardown paths also cancel that immediate without resetting `nextWriteTimer`/`chunk`, so a stale
// buffer can be flushed into the next socket. See docs/adr/0002-postgres-driver-patch.md.
//
// This module rewrites the driver's connection.js: nextWrite() settles the pending query with a
// CONNECTION_CLOSED error (retriable for the worker) instead of throwing, and teardown resets the write
// buffer. It is applied to node_modules by the root postinstall script and to the worker's bundle by its
// esbuild build. Unknown driver source fails loudly, so an upgrade forces a re-check.
const fs = require('node:fs');
const path = require('node:path');

const MARKER = '/* els: guarded nextWrite */';

/**
 * Each edit: the original text, its replacement, how often the original occurs in 3.4.x, and a marker
 * that shows the edit is already applied (so patching is idempotent).
 */
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
];

/** Returns the patched source of postgres/(cjs/)src/connection.js; idempotent. */
function patchConnectionSource(source) {
  let patched = source;
  for (const edit of EDITS) {
    if (patched.includes(edit.applied)) continue;
    if (patched.split(edit.find).length - 1 !== edit.occurrences) {
      throw new Error(
        'postgres driver connection.js is not the expected 3.4.x source; re-check the driver patch',
      );
    }
    patched = patched.replace(edit.find, edit.replace);
  }
  return patched;
}

const CONNECTION_FILES = ['cjs/src/connection.js', 'src/connection.js'];

/** Patches the installed driver in place; returns the files changed. */
function patchInstalledDriver(root) {
  const driver = path.join(root, 'node_modules', 'postgres');
  const changed = [];
  for (const file of CONNECTION_FILES) {
    const full = path.join(driver, file);
    if (!fs.existsSync(full)) continue;
    const source = fs.readFileSync(full, 'utf8');
    const patched = patchConnectionSource(source);
    if (patched !== source) {
      fs.writeFileSync(full, patched);
      changed.push(full);
    }
  }
  return changed;
}

module.exports = { patchConnectionSource, patchInstalledDriver, MARKER };

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..');
  const changed = patchInstalledDriver(root);
  process.stderr.write(
    `[postinstall] postgres driver: ${changed.length ? `patched ${changed.length} file(s)` : 'already patched'}\n`,
  );
}
