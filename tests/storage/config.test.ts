import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.ts';

/** STORAGE_URL and the S3 variables: what each value means, and one clear line naming the variable when it is wrong. */
const storage = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env }).storage;
const failure = (env: Record<string, string>) => {
  try {
    loadConfig({ NODE_ENV: 'test', ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('STORAGE_URL', () => {
  it('unset (or empty) is PostgreSQL', () => {
    expect(storage({})).toEqual({ kind: 'postgres' });
    expect(storage({ STORAGE_URL: '' })).toEqual({ kind: 'postgres' });
  });

  it('file:///path is a local directory', () => {
    expect(storage({ STORAGE_URL: 'file:///var/lib/duality/reports' })).toEqual({ kind: 'file', directory: '/var/lib/duality/reports' });
  });

  it('s3://bucket/prefix is a bucket, with the AWS variables; path style with a custom endpoint', () => {
    expect(storage({ STORAGE_URL: 's3://my-bucket/reports/2026', AWS_REGION: 'eu-central-1' })).toEqual({
      kind: 's3',
      s3: { bucket: 'my-bucket', prefix: 'reports/2026/', region: 'eu-central-1', endpoint: undefined, forcePathStyle: false },
      presign: undefined,
    });
    expect(storage({ STORAGE_URL: 's3://b-1', AWS_ENDPOINT_URL_S3: 'http://minio:9000', S3_PRESIGN: 'true' })).toMatchObject({
      s3: { bucket: 'b-1', prefix: '', endpoint: 'http://minio:9000', forcePathStyle: true },
      presign: { expiresInSeconds: 300 },
    });
  });

  it('refuses an unknown scheme, a relative file URL, a bad bucket and presigning without S3, naming the variable', () => {
    expect(failure({ STORAGE_URL: 'ftp://host/x' })).toMatch(/STORAGE_URL: unknown scheme "ftp:"/);
    expect(failure({ STORAGE_URL: 'file://reports' })).toMatch(/STORAGE_URL: file URLs name a local path/);
    expect(failure({ STORAGE_URL: 's3://Not_A_Bucket/x' })).toMatch(/STORAGE_URL: "not_a_bucket" is not a valid bucket name|STORAGE_URL: .* is not a valid bucket name/);
    expect(failure({ STORAGE_URL: 'not a url' })).toMatch(/STORAGE_URL: "not a url" is not a URL/);
    expect(failure({ S3_PRESIGN: 'true' })).toMatch(/S3_PRESIGN: presigned downloads need S3 storage/);
  });
});
