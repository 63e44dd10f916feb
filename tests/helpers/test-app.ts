import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createClient } from '../../client/index.ts';
import { checkingTrpcFetch, checkResponse } from './contract.ts';
import { buildApp, type App, type AppOverrides } from '../../server/app.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '../../server/db/database.ts';
import { createLogger, type Logger } from '../../server/logger.ts';

/** A fresh database cloned from the migrated template; dropped by `drop()`. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const { adminUrl, appUrl, owner, template } = inject('database');
  const name = `test_${randomBytes(6).toString('hex')}`;
  await createDatabaseIfMissing(adminUrl, name, { template, ...(owner ? { owner } : {}) });
  return { url: withDatabase(appUrl, name), name, drop: () => dropDatabase(adminUrl, name) };
}

/** A new database with nothing in it (not even knex's tables); dropped by `drop()`. */
export async function createEmptyDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const { adminUrl, appUrl, owner } = inject('database');
  const name = `empty_${randomBytes(6).toString('hex')}`;
  await createDatabaseIfMissing(adminUrl, name, { ...(owner ? { owner } : {}) });
  return { url: withDatabase(appUrl, name), name, drop: () => dropDatabase(adminUrl, name) };
}

export interface RestResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestApp {
  app: App;
  /** The test database's URL (for a second app or a CLI child process on the same data). */
  databaseUrl: string;
  url: string;
  dataDir: string;
  /** The typed tRPC client, optionally signed in with a token; its every answer is checked against client/openapi.json. */
  client(token?: string): ReturnType<typeof createClient>;
  /** A REST call against /api/v1; objects are sent as JSON. */
  rest<T = any>(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; rawBody?: string; unchecked?: boolean }): Promise<RestResponse<T>>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * Start the real worker too. Leave it off to register extra subscribers or tasks on
   * `app.events` / `app.jobs` first, then call `app.startWorker()`.
   */
  worker?: boolean;
  /** Parts to replace (a failing store, a counting mailer), built from the test app's config. */
  overrides?: (built: { config: Config; logger: Logger }) => AppOverrides;
  /** Where the app logs (default: a logger at the config's LOG_LEVEL, silent in tests). */
  logger?: Logger;
}

/** The real app on its own database, listening on a free port. */
export async function startTestApp(env: Record<string, string> = {}, opts: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-app-'));
  // A short poll interval only makes retries that tests fast-forward start sooner.
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: '0', DATA_DIR: dataDir, WORKER_POLL_INTERVAL_MS: '100', ...env });
  const logger = opts.logger ?? createLogger(config);
  const app = await buildApp({ config, logger, databaseUrl: database.url, ...(opts.overrides ? { overrides: opts.overrides({ config, logger }) } : {}) });
  if (opts.worker) await app.startWorker();
  const address = await app.http.listen({ port: 0, host: '127.0.0.1' });

  return {
    app,
    databaseUrl: database.url,
    url: address,
    dataDir,
    // Every tRPC answer is held to the same document as t.rest's (tests/helpers/contract.ts).
    client: (token) => createClient({ url: address, fetch: checkingTrpcFetch(), ...(token ? { token } : {}) }),
    async rest(method, p, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      let body: string | undefined = opts.rawBody;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${address}/api/v1${p}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: leave the text
      }
      // Every response a test sees must be one the document promises (opt out only to test the checker).
      if (!opts.unchecked) checkResponse({ method, path: p, status: res.status, headers: res.headers, body: parsed, text });
      return { status: res.status, headers: res.headers, body: parsed as never };
    },
    async close() {
      await app.close();
      await database.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
