import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../../server/db/database.ts';
import { startEmbeddedPostgres, type PostgresServer } from '../../server/db/embedded-postgres.ts';
import { createKnex } from '../../server/db/knex.ts';
import { migrateToLatest } from '../../server/db/migrations.ts';
import { createLogger } from '../../server/logger.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * `adminUrl`: the superuser (embedded) or DATABASE_URL, for creating and dropping
     * databases. `appUrl`: what tests and apps connect as (embedded: the application
     * role, which owns every test database; else DATABASE_URL). `owner`: that role.
     */
    database: { adminUrl: string; appUrl: string; owner?: string; template: string };
  }
}

/**
 * Once per run: a real PostgreSQL (embedded in a temporary directory, or the server
 * at DATABASE_URL) and a template database with every migration applied. Each test
 * file then clones the template (see test-app.ts), which takes milliseconds.
 */
export default async function setup(project: TestProject) {
  let server: PostgresServer | undefined;
  let tmp: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  let appUrl = adminUrl;
  let owner: string | undefined;
  if (!adminUrl) {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-test-'));
    server = await startEmbeddedPostgres({ dataDir: tmp, logger: createLogger({ logLevel: 'warn' }), ephemeral: true });
    ({ adminUrl, appUrl, appRole: owner } = server);
  }
  const template = `duality_template_${process.pid}`;
  await dropDatabase(adminUrl, template);
  await createDatabaseIfMissing(adminUrl, template, { ...(owner ? { owner } : {}) });
  // Migrated as the application role, as the app is: a migration that needs more fails here.
  const db = createKnex(withDatabase(appUrl!, template), { poolMax: 1 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  project.provide('database', { adminUrl, appUrl: appUrl!, ...(owner ? { owner } : {}), template });

  return async () => {
    await dropDatabase(adminUrl, template);
    await server?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  };
}
