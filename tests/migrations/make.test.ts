import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrationConfig, MIGRATION_FILE } from '../../server/db/migrations.ts';
import { createMigration, MIGRATION_TEMPLATE, migrationSlug } from '../../server/db/new-migration.ts';
import { unifiedDiff } from '../../server/lib/text-diff.ts';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-make-'));
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

describe('db:make', () => {
  it('writes a timestamped migration from the template, named in snake_case', async () => {
    const file = await createMigration('Add phone to users', { dir, now: new Date('2026-11-24T16:05:09Z') });
    expect(path.basename(file)).toBe('20261124160509_add_phone_to_users.ts');
    expect(path.basename(file)).toMatch(MIGRATION_FILE);
    const template = await fs.readFile(MIGRATION_TEMPLATE, 'utf8');
    const written = await fs.readFile(file, 'utf8');
    expect(written).toBe(template.split('\n').slice(2).join('\n'));
    expect(written).toMatch(/^import type \{ Knex \} from 'knex';/);
    expect(written).toContain('export async function up(knex: Knex): Promise<void> {');
    expect(written).toContain('export async function down(knex: Knex): Promise<void> {');
  });

  it('dates a new migration after the newest one, even when the clock is behind', async () => {
    await fs.writeFile(path.join(dir, '20991231235959_from_the_future.ts'), '');
    const file = await createMigration('addPhoneToUsers', { dir, now: new Date('2026-11-24T16:05:09Z') });
    expect(path.basename(file)).toBe('21000101000000_add_phone_to_users.ts');
  });

  it('refuses an empty name and a name already taken', async () => {
    await expect(createMigration('  --  ', { dir })).rejects.toThrow('Give the migration a name');
    await createMigration('add-phone-to-users', { dir });
    await expect(createMigration('add_phone_to_users', { dir })).rejects.toThrow('A migration named add_phone_to_users exists already');
  });

  it('snake-cases names the way a reader expects', () => {
    expect(migrationSlug('AddPhoneToUsers')).toBe('add_phone_to_users');
    expect(migrationSlug('backfill users.display_name (batched)')).toBe('backfill_users_display_name_batched');
  });

  it('only files named <14 digits>_<snake_name>.ts are migrations: the template and schema.sql are not', async () => {
    const names = (await migrationConfig.migrationSource!.getMigrations([])).map((m) => migrationConfig.migrationSource!.getMigrationName(m));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(MIGRATION_FILE);
    expect(names).not.toContain('_template.ts');
    expect(names).toEqual([...names].sort());
  });
});

describe('unifiedDiff', () => {
  it('prints changed lines with context, like diff -u', () => {
    // Seven unchanged lines between the changes: more than twice the context, so two hunks.
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nl\n';
    const after = 'a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nl\nk\n';
    expect(unifiedDiff(before, after, { before: 'old', after: 'new' })).toBe(
      '--- old\n+++ new\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n@@ -9,3 +9,4 @@\n i\n j\n l\n+k\n',
    );
    expect(unifiedDiff(before, before, { before: 'old', after: 'new' })).toBe('');
  });
});
