import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { S3Settings } from '../../server/storage/s3.ts';
import { ROOT } from './processes.ts';

/** s3rver's fixed credentials; the AWS SDK reads them from the environment as from anywhere else. */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** The settings of a storage on this server, under `prefix`. */
  settings(prefix?: string): S3Settings;
  /** The environment that points the app at this server, as a user would configure it. */
  env(prefix?: string): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver (a local S3-protocol server from the npm registry) on a free port,
 * with one bucket, for the S3 legs of the tests. It runs in its own process, and the
 * AWS SDK's credentials come from the environment (set here for this test process).
 */
export async function startLocalS3(bucket = 'duality-test'): Promise<LocalS3> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'duality-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', path.join(ROOT, 'tests/helpers/s3rver-main.ts'), directory, bucket], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening`)));
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  Object.assign(process.env, S3RVER_CREDENTIALS);
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    settings: (prefix = '') => ({ bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true }),
    env: (prefix = '') => ({ STORAGE_URL: `s3://${bucket}/${prefix}`, AWS_ENDPOINT_URL_S3: endpoint, AWS_REGION: 'us-east-1', ...S3RVER_CREDENTIALS }),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
