// Verified text edits of an installed dependency's source, shared by the dependency patches of this folder.
// Each edit names the original text, its replacement, how often the original occurs in the supported
// release, and a marker that shows the edit is already applied (patching is idempotent). Unknown source
// fails loudly, so an upgrade of the dependency forces a re-check of its patch.
const fs = require('node:fs');
const path = require('node:path');

/**
 * @typedef {{ find: string, replace: string, occurrences: number, applied: string }} SourceEdit
 */

/** Returns `source` with every edit applied; throws when the source is not the one the edits were written for. */
function applyEdits(source, edits, what) {
  let patched = source;
  for (const edit of edits) {
    if (patched.includes(edit.applied)) continue;
    if (patched.split(edit.find).length - 1 !== edit.occurrences) {
      throw new Error(`${what} is not the expected source; re-check its patch`);
    }
    patched = patched.replace(edit.find, edit.replace);
  }
  return patched;
}

/** Patches `files` (relative to node_modules/<pkg>) in place where they exist; returns the files changed. */
function patchInstalledFiles(root, pkg, files, patchSource) {
  const changed = [];
  for (const file of files) {
    const full = path.join(root, 'node_modules', pkg, file);
    if (!fs.existsSync(full)) continue;
    const source = fs.readFileSync(full, 'utf8');
    const patched = patchSource(source);
    if (patched !== source) {
      fs.writeFileSync(full, patched);
      changed.push(full);
    }
  }
  return changed;
}

module.exports = { applyEdits, patchInstalledFiles };
