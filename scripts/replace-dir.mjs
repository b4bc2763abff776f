// `node scripts/replace-dir.mjs NEXT TARGET`: puts a freshly built NEXT in TARGET's place with two
// renames, so a process starting meanwhile (a test running the CLI from dist/) finds either the old
// build or the new one, never a half-written or missing directory.
import { existsSync, renameSync, rmSync } from 'node:fs';

const [next, target] = process.argv.slice(2);
if (!next || !target) throw new Error('usage: node scripts/replace-dir.mjs NEXT TARGET');
const previous = `${target}.old`;
rmSync(previous, { recursive: true, force: true });
if (existsSync(target)) renameSync(target, previous);
renameSync(next, target);
rmSync(previous, { recursive: true, force: true });
