import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATION_FILE } from '../db/migrations.ts';
import { migrationTimestamp } from '../db/new-migration.ts';
import { moduleNames, NameRefused } from './make-module/names.ts';
import { moduleFiles } from './make-module/templates.ts';

/**
 * `npm run make:module -- <name>`: a complete resource in the house style (migration and
 * permission grant, model, schemas, service, router with CRUD and the cursor list, a
 * permission, a `<entity>.created` event, a test factory, tests through both doors) and
 * its line in server/modules/index.ts. A bad name is refused in one line and nothing is
 * written. Then: `npm run db:migrate && npm run db:schema && npm run openapi && npm test`.
 */
const root = process.env.MAKE_MODULE_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

try {
  const n = moduleNames(process.argv[2], root);

  // One second apart, after the newest migration, so they run last and in order.
  const existing = fs.readdirSync(path.join(root, 'migrations')).filter((f) => MIGRATION_FILE.test(f)).sort();
  let at = Date.now();
  const newest = existing.at(-1)?.slice(0, 14);
  if (newest) {
    const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(newest.slice(i, i + (k === 0 ? 4 : 2))));
    at = Math.max(at, Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) + 1000);
  }
  const files = moduleFiles(n, { create: migrationTimestamp(new Date(at)), grant: migrationTimestamp(new Date(at + 1000)) });

  const listFile = path.join(root, 'server/modules/index.ts');
  const list = fs.readFileSync(listFile, 'utf8');
  const close = list.lastIndexOf('] as const;');
  const lastImport = list.lastIndexOf('\nimport ');
  if (close < 0 || lastImport < 0) throw new NameRefused('server/modules/index.ts does not end its list with `] as const;`: add the module by hand');
  const importLine = `import { ${n.camel}Module } from './${n.kebab}/${n.entity}.module.ts';`;
  const importAt = list.indexOf('\n', lastImport + 1) + 1;
  const updated = list.slice(0, importAt) + importLine + '\n' + list.slice(importAt, close) + `  ${n.camel}Module,\n` + list.slice(close);

  for (const file of Object.keys(files)) if (fs.existsSync(path.join(root, file))) throw new NameRefused(`${file} exists already; nothing was written`);

  const written: string[] = [];
  try {
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content, { flag: 'wx' });
      written.push(file);
    }
    fs.writeFileSync(listFile, updated);
  } catch (error) {
    for (const file of written) fs.rmSync(path.join(root, file), { force: true });
    for (const dir of [`server/modules/${n.kebab}`, `tests/${n.kebab}`]) fs.rmSync(path.join(root, dir), { recursive: true, force: true });
    throw error;
  }

  console.log(`Created the ${n.camel} module:`);
  for (const file of Object.keys(files)) console.log(`  + ${file}`);
  console.log(`  ~ server/modules/index.ts (${n.camel}Module)`);
  console.log('\nNext: npm run db:migrate && npm run db:schema && npm run openapi && npm test');
} catch (error) {
  if (!(error instanceof NameRefused)) throw error;
  console.error(`make:module: ${error.message}`);
  process.exit(1);
}
