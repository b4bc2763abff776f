#!/usr/bin/env node
// The `token-issuer` command. It runs the compiled build (dist/): where only the build ships (the
// package, the container image), and in a checkout whose build is at least as new as its sources,
// about a second faster per call than compiling TypeScript with tsx on the way. A checkout whose
// sources changed since the last `npm run build` runs them through tsx.
import { existsSync } from 'node:fs';
import { register as registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const inCheckout = existsSync(new URL('src/cli/main.ts', root));
const useBuild = !inCheckout || (await import(new URL('scripts/build-freshness.mjs', root).href)).buildIsCurrent(fileURLToPath(root));

if (useBuild) {
  await import(new URL('dist/cli/main.js', root).href);
} else {
  // Workspace packages (packages/*) are read from their TypeScript source too: the `source` export
  // condition, which `node --conditions=source` would set had the process been started with it.
  registerHooks(
    'data:text/javascript,export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, "source"] });',
  );
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('src/cli/main.ts', root).href);
}
