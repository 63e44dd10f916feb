import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { S3Settings } from './storage/s3.ts';

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
  STORAGE_URL: z
    .string()
    .optional()
    .describe('Where report files are stored: unset = PostgreSQL, s3://bucket/prefix = an S3-compatible bucket, file:///absolute/path = a local directory (single host)'),
  AWS_REGION: z.string().optional().describe('AWS region of the S3 bucket; us-east-1 when AWS_ENDPOINT_URL_S3 is set and this is not'),
  AWS_ENDPOINT_URL_S3: z.string().url().optional().describe('S3-compatible endpoint (MinIO, a local server); unset = AWS S3'),
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .describe('Path-style S3 addressing (endpoint/bucket/key); default true when AWS_ENDPOINT_URL_S3 is set'),
  S3_PRESIGN: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .describe('With S3 storage, answer downloads with 302 to a short-lived presigned URL instead of streaming through the API'),
  S3_PRESIGN_EXPIRES_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300).describe('Lifetime of a presigned download URL, in seconds'),
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
  storage: StorageConfig;
}

/** Which file storage `STORAGE_URL` names; see server/storage/from-config.ts. */
export type StorageConfig =
  | { kind: 'postgres' }
  | { kind: 'file'; directory: string }
  | { kind: 's3'; s3: S3Settings; presign: { expiresInSeconds: number } | undefined };

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
    storage: storageConfig(e),
  };
}

/** STORAGE_URL and the S3 variables → StorageConfig; a bad value is a ConfigError naming the variable. */
function storageConfig(e: Env): StorageConfig {
  const raw = e.STORAGE_URL;
  const bad = (message: string, variable = 'STORAGE_URL') => new ConfigError(`Invalid configuration:\n  ${variable}: ${message}`);
  if (e.S3_PRESIGN && !/^s3:/i.test(raw ?? '')) throw bad('presigned downloads need S3 storage (STORAGE_URL=s3://bucket/prefix)', 'S3_PRESIGN');
  if (!raw || /^postgres(ql)?:$/i.test(raw)) return { kind: 'postgres' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(`${JSON.stringify(raw)} is not a URL; use s3://bucket/prefix or file:///absolute/path`);
  }
  switch (url.protocol) {
    case 'file:': {
      if (url.host) throw bad(`file URLs name a local path: file:///absolute/path (three slashes), not ${raw}`);
      return { kind: 'file', directory: path.resolve(fileURLToPath(url)) };
    }
    case 's3:': {
      const bucket = url.hostname;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`${JSON.stringify(bucket)} is not a valid bucket name (s3://bucket/prefix)`);
      const trimmed = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
      const prefix = trimmed ? `${trimmed}/` : '';
      const endpoint = e.AWS_ENDPOINT_URL_S3;
      return {
        kind: 's3',
        s3: { bucket, prefix, region: e.AWS_REGION, endpoint, forcePathStyle: e.S3_FORCE_PATH_STYLE ?? Boolean(endpoint) },
        presign: e.S3_PRESIGN ? { expiresInSeconds: e.S3_PRESIGN_EXPIRES_SECONDS } : undefined,
      };
    }
    case 'postgres:':
      throw bad('postgres: alone means the app database; a separate database for files is not supported');
    default:
      throw bad(`unknown scheme ${JSON.stringify(url.protocol)}; use s3://bucket/prefix, file:///absolute/path, or leave it unset to keep files in PostgreSQL`);
  }
}

