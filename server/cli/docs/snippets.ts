import fs from 'node:fs';
import path from 'node:path';

/**
 * Code shown in the guides is copied from real files, so it compiles (`npm run typecheck`)
 * or runs (`npm test`) where it lives. In a page, a fenced block right after
 *
 *     <!-- snippet: client/example.ts#typed-client -->
 *
 * is the region `typed-client` of that file: the lines between `#region typed-client` and
 * `#endregion typed-client` comments (any comment syntax), other region markers removed and
 * the common indentation stripped. Without `#name` it is the whole file. `npm run docs`
 * rewrites the blocks; `npm run docs:check` fails when one differs from its source.
 */
export const SNIPPET_MARKER = /^([ \t]*)<!-- snippet: ([^\s#]+)(?:#([\w-]+))? -->\n\1(```[\w-]*)\n([\s\S]*?)^\1```$/gm;

const REGION_LINE = /^\s*(?:\/\/|#|--|<!--)\s*#(end)?region\b\s*([\w-]*)/;

/** The text of `file`'s region `name` (or the whole file), ready to paste into a fence. */
export function readSnippet(root: string, file: string, name: string | undefined): string {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  let lines = text.split('\n');
  if (name) {
    const start = lines.findIndex((l) => REGION_LINE.exec(l)?.[1] === undefined && REGION_LINE.exec(l)?.[2] === name);
    const end = lines.findIndex((l, i) => i > start && REGION_LINE.exec(l)?.[1] === 'end' && REGION_LINE.exec(l)?.[2] === name);
    if (start < 0 || end < 0) throw new Error(`${file} has no region "${name}" (// #region ${name} … // #endregion ${name})`);
    lines = lines.slice(start + 1, end);
  }
  lines = lines.filter((l) => !REGION_LINE.test(l));
  while (lines.length && !lines[0]!.trim()) lines.shift();
  while (lines.length && !lines[lines.length - 1]!.trim()) lines.pop();
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n') + '\n';
}

export interface SnippetResult {
  content: string;
  /** Sources referred to by this page, for the check that every TypeScript block has one. */
  sources: string[];
  problems: string[];
}

/** Rewrites every snippet block of one page from its source. */
export function fillSnippets(root: string, page: string, markdown: string): SnippetResult {
  const problems: string[] = [];
  const sources: string[] = [];
  const content = markdown.replace(SNIPPET_MARKER, (whole, indent: string, file: string, name: string | undefined, fence: string) => {
    sources.push(file);
    try {
      // Inside a list item the block is indented; so is every line copied into it.
      const code = readSnippet(root, file, name).replace(/^(?=.)/gm, indent);
      return `${indent}<!-- snippet: ${file}${name ? `#${name}` : ''} -->\n${indent}${fence}\n${code}${indent}\`\`\``;
    } catch (error) {
      problems.push(`${page}: snippet ${file}${name ? `#${name}` : ''}: ${(error as Error).message}`);
      return whole;
    }
  });
  return { content, sources, problems };
}
