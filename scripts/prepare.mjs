// `npm install` and `npx` run this in a checkout: build, unless the build is already at least as new
// as every source (build-freshness.mjs), which makes a repeated install, or npx's link of the
// checkout, take a second rather than a full TypeScript build.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from './build-freshness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!buildIsCurrent(root)) {
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
