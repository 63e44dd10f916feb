import fs from 'node:fs';
import path from 'node:path';

/**
 * Checks that keep the guides from rotting: every relative link and anchor resolves, every
 * repository path a page names in `code` exists, and every TypeScript block is a snippet
 * copied from a compiled file (see snippets.ts).
 */

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .replace(/<[^>]+>/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

interface Line {
  text: string;
  number: number;
}

/** Lines outside fenced code blocks, and the fences with the line before each. */
function split(markdown: string): { prose: Line[]; fences: { lang: string; before: string; number: number }[] } {
  const prose: Line[] = [];
  const fences: { lang: string; before: string; number: number }[] = [];
  const lines = markdown.split('\n');
  let inFence = false;
  lines.forEach((text, i) => {
    const fence = /^\s*```\s*([\w-]*)/.exec(text);
    if (fence) {
      if (!inFence) fences.push({ lang: fence[1]!.toLowerCase(), before: lines[i - 1] ?? '', number: i + 1 });
      inFence = !inFence;
      return;
    }
    if (!inFence) prose.push({ text, number: i + 1 });
  });
  return { prose, fences };
}

/** Every anchor a page offers: its headings' slugs, numbered as GitHub does for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of split(markdown).prose) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Inline code is not a link: `[a](b)` inside backticks is left alone. */
const withoutInlineCode = (text: string) => text.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length));

/** Repository paths a page names in inline code, e.g. `server/config.ts`. */
const PATH_PREFIXES = ['server/', 'client/', 'tests/', 'migrations/', 'bench/', 'docs/', '.ci/'];
const ROOT_FILES = ['package.json', 'knexfile.ts', 'tsconfig.json', 'vitest.config.ts', 'eslint.config.js', 'README.md'];

function namedPaths(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`([^`\s]+)`/g)) {
    const token = m[1]!.replace(/[.,:;]$/, '');
    if (!PATH_PREFIXES.some((p) => token.startsWith(p)) && !ROOT_FILES.includes(token)) continue;
    if (/[<>*…{}$[\]|]/.test(token)) continue; // a pattern (`tests/<module>/`), not a path
    out.push(token.replace(/#.*$/, ''));
  }
  return out;
}

/** The problems of one page: dead links, missing anchors, paths that do not exist, loose TypeScript blocks. */
export function checkPage(
  root: string,
  page: string,
  markdown: string,
  opts: { typeChecked: (file: string) => boolean; generated: (absolute: string) => string | undefined },
): string[] {
  const problems: string[] = [];
  const dir = path.dirname(path.join(root, page));
  const { prose, fences } = split(markdown);
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchors(opts.generated(file) ?? fs.readFileSync(file, 'utf8')));
    return anchorCache.get(file)!;
  };

  for (const { text, number } of prose) {
    const where = `${page}:${number}`;
    for (const m of withoutInlineCode(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!.replace(/^<|>$/g, '');
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file ? path.resolve(dir, decodeURIComponent(file)) : path.join(root, page);
      if (opts.generated(resolved) === undefined && !fs.existsSync(resolved)) {
        problems.push(`${where}: dead link ${target} (no ${path.relative(root, resolved)})`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor)) {
        problems.push(`${where}: dead anchor ${target} (no heading "#${anchor}" in ${path.relative(root, resolved)})`);
      }
    }
    for (const named of namedPaths(text)) {
      if (!fs.existsSync(path.join(root, named))) problems.push(`${where}: names \`${named}\`, which does not exist`);
    }
  }

  for (const fence of fences) {
    if (fence.lang !== 'ts' && fence.lang !== 'typescript' && fence.lang !== 'tsx') continue;
    const marker = /<!-- snippet: ([^\s#]+)/.exec(fence.before);
    if (!marker) {
      problems.push(`${page}:${fence.number}: a TypeScript block that is not a snippet; move the code into a compiled file and show it with <!-- snippet: file#region -->`);
    } else if (!opts.typeChecked(marker[1]!)) {
      problems.push(`${page}:${fence.number}: snippet source ${marker[1]} is not compiled by \`npm run typecheck\` (tsconfig.json "include")`);
    }
  }
  return problems;
}

/**
 * Comments in code point to the guides, not to README headings: a source file that says
 * "see README, …" fails, and one naming `docs/<page>.md, "Heading"` must name a page and
 * heading that exist.
 */
export function checkSourceReferences(root: string, dirs: readonly string[], contentOf: (absolute: string) => string | undefined): string[] {
  const problems: string[] = [];
  const files: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'fixtures') walk(abs);
      } else if (/\.(ts|js|sh)$/.test(entry.name) || entry.name === 'run') files.push(abs);
    }
  };
  for (const d of dirs) walk(path.join(root, d));
  const self = path.dirname(new URL(import.meta.url).pathname);
  for (const file of files) {
    if (path.dirname(file) === self) continue; // this checker quotes the patterns it looks for
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(root, file);
    text.split('\n').forEach((line, i) => {
      // Comments only (a test's fixture strings may name pages that exist only in the test).
      if (!/^\s*(\/\/|\/?\*|#)/.test(line)) return;
      if (/\b(see (the )?README\b|README, ")/.test(line)) {
        problems.push(`${rel}:${i + 1}: points to the README; point to the docs/ page instead`);
      }
      for (const m of line.matchAll(/\b(docs\/[\w./-]+\.md)(?:, "([^"]+)")?/g)) {
        const page = path.join(root, m[1]!);
        const content = contentOf(page) ?? (fs.existsSync(page) ? fs.readFileSync(page, 'utf8') : undefined);
        if (content === undefined) problems.push(`${rel}:${i + 1}: names ${m[1]}, which does not exist`);
        else if (m[2] && !anchors(content).has(slug(m[2]))) problems.push(`${rel}:${i + 1}: ${m[1]} has no heading "${m[2]}"`);
      }
    });
  }
  return problems;
}
