// Whether a checkout's compiled output (dist/ of the issuer and of packages/verifier) is at least
// as new as every source file it is built from. The `token-issuer` command runs the build when it
// is; the packaging test rebuilds only when it is not.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const builds = [
  { output: 'dist/cli/main.js', sources: 'src' },
  { output: 'packages/verifier/dist/index.js', sources: 'packages/verifier/src' },
];

/** @param {string} root the repository's folder */
export function buildIsCurrent(root) {
  const newestSource = Math.max(...builds.map(({ sources }) => newestChange(join(root, sources))));
  return builds.every(({ output }) => existsSync(join(root, output)) && statSync(join(root, output)).mtimeMs >= newestSource);
}

/** The latest modification time of any file under `directory` (a few hundred files: ~2 ms). */
function newestChange(directory) {
  let newest = 0;
  if (!existsSync(directory)) return newest;
  for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}
