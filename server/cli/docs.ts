import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPage, checkSourceReferences } from './docs/markdown-checks.ts';
import { configurationPage, errorsPage, scriptsPage, type GeneratedPage } from './docs/reference.ts';
import { fillSnippets } from './docs/snippets.ts';

/**
 * `npm run docs` writes the generated references (docs/reference/*.md) from the code and
 * copies every snippet into the guides from its source file. `--check` (CI) writes nothing
 * and fails when a page is stale, a variable, script or error has no description, a
 * relative link or anchor is dead, a page names a path that does not exist, or a
 * TypeScript block is not a snippet of a compiled file.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const check = process.argv.includes('--check');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** README.md and every page under docs/, as paths from the repository root. */
function pages(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

/** A file `npm run typecheck` compiles: TypeScript under one of tsconfig.json's "include" entries. */
const tsconfigInclude: string[] = JSON.parse(read('tsconfig.json')).include;
const typeChecked = (file: string) =>
  /\.tsx?$/.test(file) && fs.existsSync(path.join(root, file)) && tsconfigInclude.some((inc) => file === inc || file.startsWith(`${inc.replace(/\/$/, '')}/`));

const pkg = JSON.parse(read('package.json'));
const generated: GeneratedPage[] = [configurationPage(), errorsPage(), scriptsPage(pkg, read('.ci/run'))];
const outputs = new Map<string, string>(generated.map((g) => [g.file, g.content]));
const problems: string[] = generated.flatMap((g) => g.problems);

for (const page of pages()) {
  const current = outputs.get(page) ?? read(page);
  const filled = fillSnippets(root, page, current);
  problems.push(...filled.problems);
  outputs.set(page, filled.content);
}
for (const page of new Set([...pages(), ...outputs.keys()])) {
  // Links are checked against what the pages will say once written.
  problems.push(...checkPage(root, page, outputs.get(page)!, { typeChecked, generated: (abs) => outputs.get(path.relative(root, abs)) }));
}
problems.push(...checkSourceReferences(root, ['server', 'client', 'migrations', 'tests', 'bench', 'docs/snippets', '.ci'], (abs) => outputs.get(path.relative(root, abs))));

let stale = 0;
for (const [file, content] of outputs) {
  const abs = path.join(root, file);
  const current = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : '';
  if (current === content) continue;
  if (check) {
    stale += 1;
    console.error(`${file} is stale: run \`npm run docs\` and commit the result.`);
  } else {
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
    console.log(`wrote ${file}`);
  }
}
for (const p of problems) console.error(p);
const checked = new Set([...pages(), ...outputs.keys()]).size;
if (problems.length || stale) {
  console.error(`docs: ${stale} stale file(s), ${problems.length} problem(s) in ${checked} pages.`);
  process.exit(1);
}
console.log(`docs: ${checked} pages up to date; links, anchors, named paths and snippets check out.`);
