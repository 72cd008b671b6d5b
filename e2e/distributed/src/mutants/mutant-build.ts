import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@els/harness';

/**
 * A mutant's worker: a scratch copy of the sources the worker bundle is built from, the mutant's patch
 * applied to it, and the bundle built there. The repository's own sources are never touched.
 */

/** What the worker's build reads: its sources, the libraries it bundles, the build tools and manifests. */
const COPIED = ['apps', 'libs', 'tools/build', 'tsconfig.base.json', 'package.json'];

export interface MutantBuild {
  dir: string;
  /** The mutant's `main.js`, for `E2E_WORKER_ENTRY`. */
  entry: string;
  remove(): void;
}

export class MutantBuildError extends Error {}

function run(command: string, args: string[], cwd: string, what: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().slice(-3000);
    throw new MutantBuildError(`${what} failed (exit ${result.status}): ${output}`);
  }
}

/** The files a patch writes (`+++ b/<path>` lines; a deletion writes none). */
export function patchedFiles(patchText: string): string[] {
  const files = new Set<string>();
  for (const line of patchText.split('\n')) {
    const match = /^\+\+\+ b\/(.+)$/.exec(line);
    if (match?.[1]) files.add(match[1]);
  }
  return [...files];
}

/**
 * Fails unless every file the patch writes now differs from the repository's: a patch that applied but
 * changed nothing would let the suite pass against the unmutated worker and call the mutant survived.
 */
function assertPatched(dir: string, patchFile: string): void {
  const files = patchedFiles(fs.readFileSync(patchFile, 'utf8'));
  if (files.length === 0) throw new MutantBuildError(`${path.basename(patchFile)} writes no file`);
  const unchanged = files.filter((file) => {
    const original = path.join(repoRoot, file);
    const mutated = path.join(dir, file);
    if (!fs.existsSync(mutated)) return true;
    return fs.existsSync(original) && fs.readFileSync(original).equals(fs.readFileSync(mutated));
  });
  if (unchanged.length > 0) {
    throw new MutantBuildError(
      `${path.basename(patchFile)} applied but left ${unchanged.join(', ')} unchanged in the copy`,
    );
  }
}

/** Copies the sources, applies `patchFile` (git diff format, paths from the repository root) and builds. */
export function buildMutant(id: string, patchFile: string): MutantBuild {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `els-mutant-${id}-`));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    for (const item of COPIED) {
      fs.cpSync(path.join(repoRoot, item), path.join(dir, item), {
        recursive: true,
        filter: (source) => !/[\\/](node_modules|dist)([\\/]|$)/.test(path.relative(repoRoot, source)),
      });
    }
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    // The copy is a repository of its own, so `git apply` takes the patch's paths from the copy's root.
    // Inside another repository's tree (a temporary folder within a checkout) it would instead skip
    // every path outside the current folder, silently, and build the worker unmutated.
    run('git', ['init', '--quiet'], dir, 'preparing the copy');
    run('git', ['apply', '--whitespace=nowarn', patchFile], dir, `applying ${path.basename(patchFile)}`);
    assertPatched(dir, patchFile);
    run(process.execPath, [path.join('apps', 'els-worker', 'build.mjs')], dir, 'building the mutant worker');
    const entry = path.join(dir, 'dist', 'apps', 'els-worker', 'main.js');
    if (!fs.existsSync(entry)) throw new MutantBuildError(`the build wrote no ${entry}`);
    return { dir, entry, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
