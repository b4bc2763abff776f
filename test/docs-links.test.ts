import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot } from './support/processes.js';

/** The Markdown a reader follows links in: the README, docs/, the bench's and the verifier's. */
const DOCUMENTS = ['README.md', 'bench/README.md', 'packages/verifier/README.md', ...markdownIn('docs')];

function markdownIn(folder: string): string[] {
  return readdirSync(join(repositoryRoot, folder))
    .sort()
    .filter((name) => name.endsWith('.md'))
    .map((name) => `${folder}/${name}`);
}

/** Link targets outside code: inline links and images, `[text](target)` and `![alt](target)`. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]!);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const prose = markdown.replace(/```[\s\S]*?```/g, '');
  const headings = [...prose.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => match[1]!.trim());
  return new Set(
    headings.map((heading) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );
}

describe('relative links in the docs', () => {
  it.each(DOCUMENTS)('%s: every relative link names a file (and heading) of this repository', (document) => {
    const path = join(repositoryRoot, document);
    const markdown = readFileSync(path, 'utf8');
    const broken = linkTargets(markdown)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target)) // https:, mailto:, …
      .filter((target) => {
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const linked = file === '' ? path : join(dirname(path), decodeURIComponent(file));
        if (!existsSync(linked) || relative(repositoryRoot, linked).startsWith('..')) return true;
        if (anchor === undefined) return false;
        return !statSync(linked).isFile() || !anchorsOf(readFileSync(linked, 'utf8')).has(anchor);
      });
    expect(broken).toEqual([]);
  });

  it('finds the links it checks (a link the pattern misses would pass unchecked)', () => {
    const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
    expect(linkTargets(readme)).toContain('docs/images/sign-in.png');
    expect(linkTargets('[a](b.md#c) ![d](e.png "title") `[not](a-link)`')).toEqual(['b.md#c', 'e.png']);
    expect(anchorsOf('## Failure modes: what breaks\n```\n# not a heading\n```')).toEqual(new Set(['failure-modes-what-breaks']));
  });
});
