// Lints source texts as if they were files of the workspace, with the workspace's own ESLint config,
// and prints the messages as JSON. Run in a child process because ESLint loads its flat config with a
// dynamic import(), which jest's module sandbox does not support.
//
//   stdin:  [{ "filePath": "libs/coordination/src/x.ts", "code": "..." }, ...]
//   stdout (last line): { "results": [{ "filePath", "messages": [{ "ruleId", "severity", "message" }] }, ...],
//             "dependencyConstraints": [...] }   (the depConstraints the root config enforces)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProjectGraphAsync } from '@nx/devkit';
import { ESLint } from 'eslint';
import { dependencyConstraints } from '../../../eslint.config.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let input = '';
for await (const chunk of process.stdin) input += chunk;
const samples = JSON.parse(input);

// The boundary rule reads the cached project graph and silently skips itself when there is none (fresh
// clone, plain `jest`), so compute it first.
await createProjectGraphAsync({ exitOnError: true });

const eslint = new ESLint({ cwd: repoRoot });
const results = [];
for (const { filePath, code } of samples) {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, filePath) });
  results.push({
    filePath,
    messages: (result?.messages ?? []).map(({ ruleId, severity, message }) => ({
      ruleId,
      severity,
      message,
    })),
  });
}
// Nx may print notices on stdout while building the graph; the JSON is always the last line.
process.stdout.write(`\n${JSON.stringify({ results, dependencyConstraints })}\n`);
