import fs from 'node:fs/promises';
import path from 'node:path';
import { inject, describe, expect, it } from 'vitest';
import { createKnex } from '../../server/db/knex.ts';
import { findModels } from '../../server/db/model-columns.ts';
import { migrationConfigFor } from '../../server/db/migrations.ts';
import { checkModels, runSchemaChecks, SCHEMA_FILE, schemaFromMigrations } from '../../server/db/schema-check.ts';
import { ROOT, runScript } from '../helpers/processes.ts';
import { createTestDatabase } from '../helpers/test-app.ts';

// As the application role, as `npm run db:check` connects on the embedded database.
const { appUrl: adminUrl } = inject('database');
const fixtures = (name: string) => migrationConfigFor(path.join(ROOT, 'tests/fixtures/migrations', name));

describe('db:check', () => {
  it('passes on this repository: schema.sql is current, models match, and every migration goes down and up again', async () => {
    const results = await runSchemaChecks({ url: adminUrl });
    expect(results.filter((r) => r.status !== 'pass')).toEqual([]);
    expect(results.map((r) => r.title)).toEqual([
      expect.stringMatching(/migration\(s\) apply, one by one, to an empty database/),
      'migrations/schema.sql matches the schema the migrations produce',
      expect.stringMatching(/^every model's columns exist/),
      expect.stringMatching(/^every down undoes its up/),
    ]);
  });

  it('fails with a diff and the command to run when schema.sql is not what the migrations produce', async () => {
    const committed = await fs.readFile(SCHEMA_FILE, 'utf8');
    const stale = committed.replace('price numeric(10,2) NOT NULL', 'price numeric(12,2) NOT NULL');
    expect(stale).not.toBe(committed);
    const results = await runSchemaChecks({ url: adminUrl, expectedSchema: stale });
    const failed = results.filter((r) => r.status === 'fail');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.title).toBe('migrations/schema.sql differs from the schema the migrations produce');
    expect(failed[0]!.details).toContain('-    price numeric(12,2) NOT NULL,\n+    price numeric(10,2) NOT NULL,');
    expect(failed[0]!.details).toContain('Run `npm run db:schema`');
  });

  it('names the migration whose down leaves something of its up behind', async () => {
    const config = fixtures('leaky-down');
    const expectedSchema = (await schemaFromMigrations(adminUrl, config)).text;
    const results = await runSchemaChecks({ url: adminUrl, config, expectedSchema, models: [] });
    const failed = results.filter((r) => r.status === 'fail');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.title).toBe('the down of 20000101000000_create_widgets.ts does not undo its up');
    expect(failed[0]!.details).toContain('only in schema after its up and down: function public.widget_count()');
  });

  it('names a model column the schema lacks, and a model that declares no columns', async () => {
    const schema = await schemaFromMigrations(adminUrl);
    const result = checkModels(
      [
        { name: 'Product', file: 'x.model.ts', table: 'products', columns: ['id', 'phone_number'] },
        { name: 'Gadget', file: 'y.model.ts', table: 'gadgets', columns: undefined },
      ],
      schema,
    );
    expect(result.status).toBe('fail');
    expect(result.details).toContain('Product (x.model.ts) declares column public.products.phone_number, which the schema lacks.');
    expect(result.details).toContain('Gadget (y.model.ts) does not declare its columns');
  });

  it('finds every model under server/modules with its columns in snake_case', async () => {
    const models = await findModels();
    expect(models).toContainEqual({
      name: 'Product',
      file: 'server/modules/products/product.model.ts',
      table: 'products',
      columns: ['id', 'name', 'price', 'is_active', 'version', 'created_at', 'updated_at'],
    });
  });

  it('as a command, fails on a database changed by hand and names the column', async () => {
    const database = await createTestDatabase();
    try {
      const db = createKnex(database.url, { poolMax: 1 });
      await db.raw('ALTER TABLE products ADD COLUMN sneaky text');
      await db.destroy();

      const run = await runScript('server/cli/db.ts', ['check'], { DATABASE_URL: database.url });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/✗ the database .* differs from migrations\/schema\.sql: it was changed outside the migrations/);
      expect(run.stdout).toContain('only in the database: column public.products.sneaky: sneaky text');
      expect(run.stdout).toContain('+    sneaky text');
      expect(run.stderr).toContain('db:check: 1 problem(s).');
    } finally {
      await database.drop();
    }
  });
});
