import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/processes.js';

const source = join(repositoryRoot, 'src');
const architecture = readFileSync(join(repositoryRoot, 'docs', 'architecture.md'), 'utf8');

/** Every folder under src/, as `a/b/`. */
function foldersUnder(directory: string): string[] {
  return readdirSync(directory)
    .map((name) => join(directory, name))
    .filter((path) => statSync(path).isDirectory())
    .flatMap((path) => [`${relative(source, path)}/`, ...foldersUnder(path)]);
}

describe('docs/architecture.md', () => {
  it('names every folder under src/, so a newcomer finds each part from it', () => {
    const folders = foldersUnder(source);
    expect(folders.length).toBeGreaterThan(10);
    // In the tree a nested folder appears under its parent by its own name.
    const missing = folders.filter(
      (folder) => !architecture.includes(folder) && !architecture.includes(`    ${folder.split('/').at(-2)}/`),
    );
    expect(missing).toEqual([]);
  });

  it('points only at files that exist', () => {
    const mentioned = [...architecture.matchAll(/`((?:src\/|test\/)?[a-z/-]+\.ts)`/g)].map((match) => match[1]!);
    const resolve = (path: string) => (path.startsWith('src/') || path.startsWith('test/') ? path : `src/${path}`);
    const absent = mentioned.filter((path) => {
      try {
        return !statSync(join(repositoryRoot, resolve(path))).isFile();
      } catch {
        return true;
      }
    });
    expect(absent).toEqual([]);
  });
});
