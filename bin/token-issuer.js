#!/usr/bin/env node
// The `token-issuer` command. In a source checkout it runs the TypeScript through tsx; where only
// the build ships (dist/, as in the container image) it runs that.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
