import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable the backend reads, in one place. Each one's `.describe()`
 * is its documentation: `npm run docs` writes docs/reference/configuration.md from this
 * schema (type, default, description) and `npm run docs:check` fails when that page is
 * stale or a variable has no description.
 */
export const EnvSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe('`production` hides fault details: no stack traces or SQL in any response, only "Internal server error".'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port; `0` picks a free one.'),
  HOST: z.string().default('127.0.0.1').describe('Interface to listen on; `0.0.0.0` in a container.'),
  DATABASE_URL: z
    .string()
    .url()
    .optional()
    .describe('The PostgreSQL to use (`postgres://user:pass@host:5432/db`). Unset: an embedded PostgreSQL is started under `DATA_DIR`.'),
  DATA_DIR: z
    .string()
    .default('.data')
    .describe('Local data: the embedded database (`DATA_DIR/postgres`, its log `postgres.log`), mail files, report files. Git-ignored.'),
  EMBEDDED_PG_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe('Port of the embedded PostgreSQL (127.0.0.1 only); `0` picks a free one at each start.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level; `silent` turns logging off.'),
  BODY_LIMIT: z.coerce.number().int().positive().default(1_048_576).describe('Largest request body accepted, in bytes; a larger one gets 413.'),
  PUBLIC_URL: z
    .string()
    .url()
    .optional()
    .describe('Public base URL, written into the OpenAPI document\'s `servers`, links in mails and the origin check. Unset: `http://localhost:$PORT`.'),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10).describe('Database connections per process (each running job holds one).'),
  MIGRATE_ON_START: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1')
    .describe(
      'Apply pending migrations when a process starts (under a lock, so instances started together take turns). `false` where migrations are a separate deploy step: the process then refuses to start while any are pending.',
    ),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5).describe('Jobs one worker process runs at the same time.'),
  WORKER_POLL_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(10)
    .default(2000)
    .describe('How often an idle worker looks for jobs that became due (retries, scheduled jobs). New jobs wake it at once through LISTEN/NOTIFY.'),
  WORKER_RECOVER_AFTER_MS: z.coerce
    .number()
    .int()
    .min(400)
    .default(120_000)
    .describe('A worker process silent this long (no heartbeat) is taken for dead and the jobs it held are released for others (server/jobs/recovery.ts).'),
  SMTP_URL: z
    .string()
    .url()
    .optional()
    .describe('`smtp(s)://user:pass@host:port` to send mail by SMTP. Unset: each mail is written as an `.eml` file under `DATA_DIR/mail`.'),
  MAIL_FROM: z.string().min(3).default('Duality <no-reply@duality.localhost>').describe('The From header of every mail the backend sends.'),
  SHUTDOWN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30_000)
    .describe('How long SIGTERM/SIGINT waits for in-flight requests and jobs before exiting 1; a second signal exits at once.'),
  SIGN_IN_LIMIT_PER_MINUTE: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe('Sign-in attempts allowed per minute, per client IP and per email (counted in each process); more get 429 with Retry-After.'),
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .describe('`true` behind a reverse proxy, so the client IP (rate limits) and host (origin check) come from `X-Forwarded-*`.'),
});

export type Env = z.infer<typeof EnvSchema>;

/** The validated, typed configuration the composition root is built from. */
export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  logLevel: Env['LOG_LEVEL'];
  bodyLimit: number;
  publicUrl: string | undefined;
  dbPoolMax: number;
  migrateOnStart: boolean;
  worker: { concurrency: number; pollIntervalMs: number; recoverAfterMs: number };
  mail: { smtpUrl: string | undefined; from: string; dir: string };
  shutdownTimeoutMs: number;
  signInLimitPerMinute: number;
  trustProxy: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment; throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset": `DATABASE_URL= npm start` should not fail validation.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    publicUrl: e.PUBLIC_URL,
    dbPoolMax: e.DB_POOL_MAX,
    migrateOnStart: e.MIGRATE_ON_START,
    worker: { concurrency: e.WORKER_CONCURRENCY, pollIntervalMs: e.WORKER_POLL_INTERVAL_MS, recoverAfterMs: e.WORKER_RECOVER_AFTER_MS },
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM, dir: path.join(path.resolve(e.DATA_DIR), 'mail') },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    signInLimitPerMinute: e.SIGN_IN_LIMIT_PER_MINUTE,
    trustProxy: e.TRUST_PROXY,
  };
}
