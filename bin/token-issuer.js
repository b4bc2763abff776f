#!/usr/bin/env node
// The `token-issuer` command. In a source checkout it runs the TypeScript through tsx; where only
// the build ships (dist/, as in the container image) it runs that.
import { existsSync } from 'node:fs';
import { register as registerHooks } from 'node:module';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  // Workspace packages (packages/*) are read from their TypeScript source too: the `source` export
  // condition, which `node --conditions=source` would set had the process been started with it.
  registerHooks(
    'data:text/javascript,export const resolve = (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, "source"] });',
  );
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
