import fs from 'node:fs/promises';
import path from 'node:path';
import { MIGRATION_FILE, MIGRATIONS_DIR } from './migrations.ts';

/** The template every new migration starts from; its leading `//` lines are about the template itself. */
export const MIGRATION_TEMPLATE = path.join(MIGRATIONS_DIR, '_template.ts');

/** `Add phone to users`, `addPhoneToUsers` and `add-phone-to-users` all become `add_phone_to_users`. */
export function migrationSlug(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** `YYYYMMDDHHMMSS` in UTC. */
export function migrationTimestamp(date: Date): string {
  return date.toISOString().replace(/\D/g, '').slice(0, 14);
}

/**
 * Writes `migrations/<timestamp>_<slug>.ts` from the template and returns its path.
 * The timestamp is now, or one second after the newest migration when that is later
 * (a clock behind, or migrations dated ahead), so the new one always runs last.
 */
export async function createMigration(name: string, opts: { dir?: string; now?: Date } = {}): Promise<string> {
  const dir = opts.dir ?? MIGRATIONS_DIR;
  const slug = migrationSlug(name);
  if (!slug) throw new Error('Give the migration a name, e.g. `npm run db:make -- add_phone_to_users`.');
  const existing = (await fs.readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  const taken = existing.find((f) => f.slice(15) === `${slug}.ts`);
  if (taken) throw new Error(`A migration named ${slug} exists already: migrations/${taken}. Choose a name that says what this one does.`);

  let stamp = migrationTimestamp(opts.now ?? new Date());
  const newest = existing.at(-1)?.slice(0, 14);
  if (newest && stamp <= newest) stamp = migrationTimestamp(new Date(parseTimestamp(newest).getTime() + 1000));
  const file = `${stamp}_${slug}.ts`;
  if (!MIGRATION_FILE.test(file)) throw new Error(`${file} does not match ${MIGRATION_FILE}`);

  const template = await fs.readFile(MIGRATION_TEMPLATE, 'utf8');
  const body = template.replace(/^(\/\/.*\n)+/, '');
  const target = path.join(dir, file);
  await fs.writeFile(target, body, { flag: 'wx' });
  return target;
}

function parseTimestamp(stamp: string): Date {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((at, i) => Number(stamp.slice(at, at + (i === 0 ? 4 : 2))));
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}
