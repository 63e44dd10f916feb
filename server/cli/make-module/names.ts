import fs from 'node:fs';
import path from 'node:path';

/** Every spelling of one resource name the generated files need. */
export interface ModuleNames {
  /** As typed, kebab-case: `order-lines` (the folder, REST path, permission and tag). */
  kebab: string;
  /** The router key and tRPC path: `orderLines`. */
  camel: string;
  /** The table: `order_lines`. */
  snake: string;
  /** One of them, kebab-case: `order-line` (file names, event names). */
  entity: string;
  /** One of them, camelCase: `orderLine` (variables, event payload field `orderLineId`). */
  entityCamel: string;
  /** The class names: `OrderLine`. */
  Entity: string;
  /** The plural, PascalCase: `OrderLines`. */
  Plural: string;
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const CAMEL = /^[a-z][a-z0-9]*([A-Z][a-z0-9]*)*$/;

/** Words a module cannot be called: JavaScript's reserved words, the app's own paths and tRPC's router properties. */
const RESERVED = new Set([
  // JavaScript (a router key and variable names are made from the name)
  ...'break case catch class const continue debugger default delete do else enum export extends false finally for function if implements import in instanceof interface let new null package private protected public return static super switch this throw true try typeof var void while with yield await'.split(' '),
  // tRPC routers and promises
  'then', 'call', 'apply', 'bind', 'constructor', 'prototype', 'caller', 'router', 'procedure',
  // what the server or the repository already means by these
  'api', 'trpc', 'docs', 'openapi', 'healthz', 'readyz', 'index', 'modules', 'lib', 'db', 'http', 'jobs', 'events', 'cli', 'test', 'tests', 'client',
  'auth', 'session', 'sessions', 'role', 'roles', 'permission', 'permissions', 'migration', 'migrations', 'knex',
]);

const toCamel = (kebab: string) => kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const toKebab = (camel: string) => camel.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const pascal = (camel: string) => camel.charAt(0).toUpperCase() + camel.slice(1);

/** `orders` → `order`, `categories` → `category`, `addresses` → `address`; a word not ending in s stays. */
export function singular(word: string): string {
  if (/ies$/.test(word) && word.length > 4) return word.slice(0, -3) + 'y';
  if (/(ss|us|is)$/.test(word)) return word;
  if (/(sses|xes|ches|shes|zzes)$/.test(word)) return word.slice(0, -2);
  if (/s$/.test(word) && word.length > 2) return word.slice(0, -1);
  return word;
}

/** A refusal: one line, and nothing was written. */
export class NameRefused extends Error {
  override name = 'NameRefused';
}

/** Checks `raw` (kebab or camel case, not taken, not reserved) and spells it every way. */
export function moduleNames(raw: string | undefined, root: string): ModuleNames {
  if (!raw) throw new NameRefused('usage: npm run make:module -- <name>   (kebab-case or camelCase, plural, e.g. orders or order-lines)');
  if (!KEBAB.test(raw) && !CAMEL.test(raw)) throw new NameRefused(`"${raw}" is not kebab-case or camelCase: use lowercase letters and digits, words joined by "-" or capitals (order-lines, orderLines)`);
  const kebab = KEBAB.test(raw) ? raw : toKebab(raw);
  if (kebab.length < 2 || kebab.length > 40) throw new NameRefused(`"${raw}" must be 2 to 40 characters long`);
  const camel = toCamel(kebab);
  const lastWord = kebab.split('-').at(-1)!;
  const entity = [...kebab.split('-').slice(0, -1), singular(lastWord)].join('-');
  for (const word of new Set([kebab, camel, entity, toCamel(entity)])) {
    if (RESERVED.has(word)) throw new NameRefused(`"${raw}" is reserved (${word} already means something to JavaScript, tRPC or this app); choose another name`);
  }
  const snake = kebab.replace(/-/g, '_');
  const modulesDir = path.join(root, 'server/modules');
  for (const folder of fs.readdirSync(modulesDir)) {
    if (folder === kebab || toCamel(folder) === camel) throw new NameRefused(`"${raw}" is taken: server/modules/${folder} exists`);
  }
  const list = fs.readFileSync(path.join(modulesDir, 'index.ts'), 'utf8');
  if (new RegExp(`\\b${camel}Module\\b`).test(list)) throw new NameRefused(`"${raw}" is taken: server/modules/index.ts lists ${camel}Module`);
  const migrations = path.join(root, 'migrations');
  for (const file of fs.readdirSync(migrations)) {
    if (!file.endsWith('.ts')) continue;
    const text = fs.readFileSync(path.join(migrations, file), 'utf8');
    if (new RegExp(`createTable\\(\\s*'${snake}'`).test(text) || new RegExp(`CREATE TABLE (IF NOT EXISTS )?"?${snake}"?\\b`, 'i').test(text)) {
      throw new NameRefused(`"${raw}" is taken: migrations/${file} creates the table ${snake}`);
    }
  }
  if (fs.existsSync(path.join(root, 'tests', kebab))) throw new NameRefused(`"${raw}" is taken: tests/${kebab} exists`);
  const entityCamel = toCamel(entity);
  const Entity = pascal(entityCamel);
  // The entity names files, events (`<entity>.created`) and the OpenAPI schema (`<Entity>`): one module each.
  for (const folder of fs.readdirSync(modulesDir)) {
    const dir = path.join(modulesDir, folder);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const file of fs.readdirSync(dir)) {
      if (file.startsWith(`${entity}.`)) throw new NameRefused(`"${raw}" is taken: its entity "${entity}" is server/modules/${folder}'s (${file})`);
      if (file.endsWith('.schemas.ts') && new RegExp(`id: '${Entity}(Page)?'`).test(fs.readFileSync(path.join(dir, file), 'utf8'))) {
        throw new NameRefused(`"${raw}" is taken: the schema name ${Entity} is server/modules/${folder}'s`);
      }
    }
  }
  return { kebab, camel, snake, entity, entityCamel, Entity, Plural: pascal(camel) };
}
