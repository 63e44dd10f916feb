import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { S3Settings } from './storage/s3.ts';

/**
 * Every environment variable the backend reads, in one place. The README's
 * configuration table is written from this schema; keep them in step.
 */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** When unset, an embedded PostgreSQL is started under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('.data'),
  /** Port of the embedded PostgreSQL; 0 picks a free one at start. */
  EMBEDDED_PG_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest request body accepted, in bytes. */
  BODY_LIMIT: z.coerce.number().int().positive().default(1_048_576),
  /** Public base URL, used in the OpenAPI document's servers list. */
  PUBLIC_URL: z.string().url().optional(),
  DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  /**
   * Apply pending migrations when the server starts (under a lock, so instances started
   * together take turns). Set to false where migrations are a separate deploy step;
   * the server then refuses to start while any are pending.
   */
  MIGRATE_ON_START: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Jobs one worker process runs at the same time. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5),
  /**
   * How often an idle worker looks for jobs that became due (retries, scheduled
   * jobs). New jobs wake it at once through LISTEN/NOTIFY, whatever this is.
   */
  WORKER_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(2000),
  /**
   * A worker process silent this long (no heartbeat) is taken for dead and the jobs it
   * held are released for others; see server/jobs/recovery.ts.
   */
  WORKER_RECOVER_AFTER_MS: z.coerce.number().int().min(400).default(120_000),
  /** smtp(s)://user:pass@host:port; unset writes each mail as an .eml file under DATA_DIR/mail. */
  SMTP_URL: z.string().url().optional(),
  /** The From header of every mail the backend sends. */
  MAIL_FROM: z.string().min(3).default('Duality <no-reply@duality.localhost>'),
  /** How long a graceful shutdown may wait for in-flight work before exiting anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /** Sign-in attempts allowed per minute, per client IP and per email (in each process). */
  SIGN_IN_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /**
   * Where report files are stored. Unset: in PostgreSQL (every process that reaches the
   * database reaches the files). `s3://bucket/prefix`: an S3-compatible bucket (with
   * AWS_REGION, AWS_ENDPOINT_URL_S3 and credentials from the AWS SDK's default chain).
   * `file:///absolute/path`: a directory on the local disk, for a single host only.
   */
  STORAGE_URL: z
    .string()
    .optional()
    .describe('Where report files are stored: unset = PostgreSQL, s3://bucket/prefix = an S3-compatible bucket, file:///absolute/path = a local directory (single host)'),
  /** The AWS region of the bucket (the SDK's convention); us-east-1 when AWS_ENDPOINT_URL_S3 is set and this is not. */
  AWS_REGION: z.string().optional().describe('AWS region of the S3 bucket; us-east-1 when AWS_ENDPOINT_URL_S3 is set and this is not'),
  /** An S3-compatible endpoint (MinIO, a local server): the SDK's own variable. Unset: AWS S3. */
  AWS_ENDPOINT_URL_S3: z.string().url().optional().describe('S3-compatible endpoint (MinIO, a local server); unset = AWS S3'),
  /** Path-style bucket addressing (endpoint/bucket/key). Default: true when AWS_ENDPOINT_URL_S3 is set, else false. */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .describe('Path-style S3 addressing (endpoint/bucket/key); default true when AWS_ENDPOINT_URL_S3 is set'),
  /**
   * With S3 storage, answer a download with 302 to a presigned URL instead of streaming
   * the file through the API. Off by default: the bucket must then be reachable by
   * clients at the endpoint the server uses.
   */
  S3_PRESIGN: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .describe('With S3 storage, answer downloads with 302 to a short-lived presigned URL instead of streaming through the API'),
  /** How long a presigned download URL stays valid, in seconds. */
  S3_PRESIGN_EXPIRES_SECONDS: z.coerce.number().int().min(1).max(604_800).default(300).describe('Lifetime of a presigned download URL, in seconds'),
  /** Set to true behind a reverse proxy, so the client IP (rate limits) and host (origin check) come from X-Forwarded-*. */
  TRUST_PROXY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
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
