import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.ts';
import { createLogger } from '../../server/logger.ts';

const logger = createLogger({ logLevel: 'silent' });
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

const pidFile = (dataDir: string) => path.join(dataDir, 'postgres', 'postmaster.pid');
const running = (dataDir: string) => fs.access(pidFile(dataDir)).then(() => true, () => false);

it('processes sharing one data directory join the running server, and the last one out stops it', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-embedded-'));
  dirs.push(dataDir);
  const first = await startEmbeddedPostgres({ dataDir, logger });
  const second = await startEmbeddedPostgres({ dataDir, logger });
  expect(first.owned).toBe(true);
  expect(second.owned).toBe(false);
  expect(second.adminUrl).toBe(first.adminUrl);

  // The second process is still using it: the first leaving must not stop the server.
  const client = new pg.Client({ connectionString: second.adminUrl });
  await client.connect();
  await first.stop();
  expect(await running(dataDir)).toBe(true);
  expect((await client.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  await client.end();

  await second.stop();
  expect(await running(dataDir)).toBe(false);
  expect(await fs.readFile(path.join(dataDir, 'postgres.log'), 'utf8')).toContain('database system is ready to accept connections');

  // And the next start reuses the data directory.
  const third = await startEmbeddedPostgres({ dataDir, logger });
  expect(third.owned).toBe(true);
  await third.stop();
  expect(await running(dataDir)).toBe(false);
});
