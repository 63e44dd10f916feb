import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKnex } from '../../server/db/knex.ts';
import { JOB_QUEUE_SCHEMA_PENDING, migrationConfigFor, migrationStatus, MIGRATION_FILE, strayMigrationFiles } from '../../server/db/migrations.ts';
import { ROOT, runScript } from '../helpers/processes.ts';
import { createEmptyDatabase } from '../helpers/test-app.ts';

/** `npx knex …` with the project's knexfile, as a user types it. */
const knex = (args: string[], env: Record<string, string>) => runScript(path.join(ROOT, 'node_modules/knex/bin/cli.js'), args, env);
const db = (args: string[], env: Record<string, string>) => runScript('server/cli/db.ts', args, env);

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

// Each step is a CLI process of its own (tsx, then PostgreSQL or knex): slow on a busy machine.
describe("knex's own CLI and ours agree", { timeout: 240_000 }, () => {
  it('migrate:latest installs graphile-worker’s schema too; status, rollback and db:status agree', async () => {
    const database = await createEmptyDatabase();
    cleanups.push(() => database.drop());
    const env = { DATABASE_URL: database.url };

    const latest = await knex(['migrate:latest'], env);
    expect(latest.code, latest.stderr).toBe(0);
    const check = createKnex(database.url, { poolMax: 1 });
    cleanups.push(() => check.destroy());
    expect((await check.raw(`SELECT to_regnamespace('graphile_worker') IS NOT NULL AS ok`)).rows[0].ok).toBe(true);

    const ours = await db(['status'], env);
    expect(ours.stdout).toContain('Pending (0)');
    expect(ours.stdout).toContain('Up to date.');
    const theirs = await knex(['migrate:status'], env);
    expect(theirs.stdout).toMatch(/No Pending Migration/i);

    const rollback = await knex(['migrate:rollback'], env);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect((await migrationStatus(check)).applied).toEqual([]);
    expect((await db(['status'], env)).stdout).not.toContain('Up to date.');
  });

  it('db:status reports a missing graphile-worker schema as pending, and db:migrate says it installed it', async () => {
    const database = await createEmptyDatabase();
    cleanups.push(() => database.drop());
    const env = { DATABASE_URL: database.url };
    expect((await knex(['migrate:latest'], env)).code).toBe(0);
    const conn = createKnex(database.url, { poolMax: 1 });
    cleanups.push(() => conn.destroy());
    await conn.raw('DROP SCHEMA graphile_worker CASCADE');

    const status = await db(['status'], env);
    expect(status.stdout).toContain(JOB_QUEUE_SCHEMA_PENDING);
    expect(status.stdout).not.toContain('Up to date.');
    const migrate = await db(['migrate'], env);
    expect(migrate.stdout).toContain(`Installed ${JOB_QUEUE_SCHEMA_PENDING}`);
    expect(migrate.stdout).not.toContain('Already up to date');
  });

  it('migrate:make writes names the runner runs; anything else is named as stray', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-knex-make-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const database = await createEmptyDatabase();
    cleanups.push(() => database.drop());
    const env = { DATABASE_URL: database.url };

    const made = await knex(['migrate:make', 'addOther', '--migrations-directory', dir], env);
    expect(made.code, made.stderr).toBe(0);
    const [file] = await fs.readdir(dir);
    expect(file).toMatch(MIGRATION_FILE);
    const source = migrationConfigFor(dir).migrationSource!;
    expect((await source.getMigrations([])).map((m) => source.getMigrationName(m))).toEqual([file]);

    expect((await knex(['migrate:make', 'as_js', '-x', 'js', '--migrations-directory', dir], env)).code).toBe(0);
    await fs.writeFile(path.join(dir, 'no_timestamp.ts'), '');
    const stray = await strayMigrationFiles(dir);
    expect(stray).toEqual([expect.stringMatching(/^\d{14}_as_js\.js$/), 'no_timestamp.ts']);
    expect(await strayMigrationFiles()).toEqual([]); // the project's own migrations/ is clean
  });

  it("`--knexfile knexfile.ts` works with tsx loaded through NODE_OPTIONS, as docs/migrations.md says", async () => {
    const database = await createEmptyDatabase();
    cleanups.push(() => database.drop());
    // Not runScript: that loads tsx itself. This is the command line a user types.
    const { DATABASE_URL: _ignored, ...env } = process.env;
    const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/knex/bin/cli.js'), '--knexfile', 'knexfile.ts', 'migrate:list'], {
        cwd: ROOT,
        env: { ...env, NODE_OPTIONS: '--import tsx', DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(/Found \d+ Pending Migration/i);
    expect(result.out).toContain('_create_products.ts');
  });

  it.skipIf(Boolean(process.env.DATABASE_URL))('an embedded PostgreSQL started for a knex command stops when it ends', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-knex-embedded-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const result = await knex(['migrate:latest'], { DATA_DIR: dataDir });
    expect(result.code, result.stderr).toBe(0);
    await expect(fs.access(path.join(dataDir, 'postgres', 'PG_VERSION'))).resolves.toBeUndefined();
    await expect(fs.access(path.join(dataDir, 'postgres', 'postmaster.pid'))).rejects.toThrow();
  });
});
