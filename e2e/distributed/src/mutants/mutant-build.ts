import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../harness/paths';

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
    // Outside a git repository `git apply` is a plain, strict patch tool: any hunk that does not apply fails.
    run('git', ['apply', '--whitespace=nowarn', patchFile], dir, `applying ${path.basename(patchFile)}`);
    run(process.execPath, [path.join('apps', 'els-worker', 'build.mjs')], dir, 'building the mutant worker');
    const entry = path.join(dir, 'dist', 'apps', 'els-worker', 'main.js');
    if (!fs.existsSync(entry)) throw new MutantBuildError(`the build wrote no ${entry}`);
    return { dir, entry, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
