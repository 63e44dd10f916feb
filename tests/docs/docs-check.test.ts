import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvSchema } from '../../server/config.ts';
import { ERROR_KINDS } from '../../server/errors.ts';
import { anchors, checkPage, checkSourceReferences, slug } from '../../server/cli/docs/markdown-checks.ts';
import { configurationPage, errorsPage, scriptsPage } from '../../server/cli/docs/reference.ts';
import { fillSnippets } from '../../server/cli/docs/snippets.ts';
import { runScript } from '../helpers/processes.ts';

/** A scratch repository: files by path, written under a temporary root. */
function scratch(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'duality-docs-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return root;
}
const opts = { typeChecked: (f: string) => f.endsWith('.ts'), generated: () => undefined };

describe('npm run docs:check', () => {
  it('passes on the repository as committed', async () => {
    const result = await runScript('server/cli/docs.ts', ['--check'], {});
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('pages up to date');
  }, 60_000);
});

describe('the references', () => {
  it('describe every environment variable, with its type and default', () => {
    const page = configurationPage();
    expect(page.problems).toEqual([]);
    for (const name of Object.keys(EnvSchema.shape)) expect(page.content).toContain(`## \`${name}\``);
    expect(page.content).toContain('| [`PORT`](#port) | integer, 0–65535 | `3000` |');
    expect(page.content).toContain('| [`DATABASE_URL`](#database_url) | URL | unset |');
  });

  it('list every error code with its HTTP status and tRPC code', () => {
    const page = errorsPage();
    expect(page.problems).toEqual([]);
    for (const [code, kind] of Object.entries(ERROR_KINDS)) expect(page.content).toContain(`| \`${code}\` | ${kind.status} |`);
    expect(page.content).toContain('| `NOT_FOUND` | 404 | -32004 |');
  });

  it('fail on a script without a one-line description, and on a description without a script', () => {
    const page = scriptsPage({ scripts: { start: 'tsx main.ts', 'new:thing': 'tsx thing.ts' }, 'scripts-info': { start: 'Starts it.', gone: 'Was removed.' } }, 'npm ci\nnpm test\n');
    expect(page.problems).toEqual([
      'package.json: script "new:thing" has no line in "scripts-info"; add one saying what it does.',
      'package.json: "scripts-info" describes "gone", which is not a script; remove the line.',
    ]);
    expect(page.content).toContain('| `npm start` | Starts it. | `tsx main.ts` |');
    expect(page.content).toContain('runs, in this order: `npm ci`, `npm test`.');
  });
});

describe('links, anchors and named paths', () => {
  it('slugs headings as GitHub does', () => {
    expect(slug("graphile-worker's schema")).toBe('graphile-workers-schema');
    expect(slug('Errors: one shape on both doors')).toBe('errors-one-shape-on-both-doors');
    expect(slug('`MIGRATE_ON_START`')).toBe('migrate_on_start');
    expect([...anchors('# A\n## Same\n## Same\n```\n# not a heading\n```\n')]).toEqual(['a', 'same', 'same-1']);
  });

  it('report a dead link, a dead anchor and a path that does not exist; accept live ones', () => {
    const root = scratch({
      'docs/a.md': '# A\n\nSee [b](b.md#real-heading), [gone](gone.md), [bad](b.md#nope), [self](#a), [web](https://example.com), `server/x.ts`, `server/missing.ts`, `tests/<module>/`.\n\n```\n[in code](nowhere.md)\n```\n',
      'docs/b.md': '# B\n\n## Real heading\n',
      'server/x.ts': '',
    });
    expect(checkPage(root, 'docs/a.md', fs.readFileSync(path.join(root, 'docs/a.md'), 'utf8'), opts)).toEqual([
      'docs/a.md:3: dead link gone.md (no docs/gone.md)',
      'docs/a.md:3: dead anchor b.md#nope (no heading "#nope" in docs/b.md)',
      'docs/a.md:3: names `server/missing.ts`, which does not exist',
    ]);
  });

  it('refuse a TypeScript block that is not a snippet of a compiled file', () => {
    const root = scratch({});
    const page = '# A\n\n```ts\nconst x = 1;\n```\n\n<!-- snippet: notes.md -->\n```ts\nx\n```\n';
    const problems = checkPage(root, 'docs/a.md', page, opts);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('docs/a.md:3: a TypeScript block that is not a snippet');
    expect(problems[1]).toContain('snippet source notes.md is not compiled by `npm run typecheck`');
  });

  it('refuse comments in code that point to README headings or to pages and headings that do not exist', () => {
    const root = scratch({
      'docs/guide.md': '# Guide\n\n## Which path when\n',
      'server/a.ts': '// see README, "Old heading"\n// see docs/guide.md, "Which path when"\n// see docs/guide.md, "Gone"\n// docs/missing.md\n',
    });
    expect(checkSourceReferences(root, ['server'], () => undefined)).toEqual([
      'server/a.ts:1: points to the README; point to the docs/ page instead',
      'server/a.ts:3: docs/guide.md has no heading "Gone"',
      'server/a.ts:4: names docs/missing.md, which does not exist',
    ]);
  });
});

describe('snippets', () => {
  it('copy a region of a file into the block after its marker, indented like the block, and report a missing region', () => {
    const root = scratch({ 'src/a.ts': 'const hidden = 0;\nfunction f() {\n  // #region body\n  return 1;\n  // #endregion body\n}\n' });
    const page = 'Text\n\n1. Step\n\n   <!-- snippet: src/a.ts#body -->\n   ```ts\n   stale\n   ```\n\n<!-- snippet: src/a.ts#nope -->\n```ts\n```\n';
    const filled = fillSnippets(root, 'docs/a.md', page);
    expect(filled.content).toContain('   <!-- snippet: src/a.ts#body -->\n   ```ts\n   return 1;\n   ```\n');
    expect(filled.problems).toEqual(['docs/a.md: snippet src/a.ts#nope: src/a.ts has no region "nope" (// #region nope … // #endregion nope)']);
  });
});
