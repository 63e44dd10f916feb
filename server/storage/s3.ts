import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Readable, Transform } from 'node:stream';
import { checkKey, PROBE_KEY, STORAGE_KEY, StorageUnavailableError, type FileStorage, type Leftovers, type StoredEntry, type StoredFile } from './storage.ts';

/** What `STORAGE_URL=s3://bucket/prefix` and the AWS variables say. */
export interface S3Settings {
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
  /** AWS_REGION; the SDK's own chain (profile, instance) when unset, us-east-1 with a custom endpoint. */
  region?: string | undefined;
  /** AWS_ENDPOINT_URL_S3: MinIO, a local test server, another S3-compatible service. */
  endpoint?: string | undefined;
  /** Path-style addressing (`endpoint/bucket/key`); what MinIO and most local servers need. */
  forcePathStyle: boolean;
}

/** Multipart part size: the S3 minimum, and with two parts in flight what a writer holds in memory, about. */
export const S3_PART_BYTES = 5 * 1024 * 1024;

type Sdk = [typeof import('@aws-sdk/client-s3'), typeof import('@aws-sdk/lib-storage'), typeof import('@aws-sdk/s3-request-presigner')];
let sdkLoading: Promise<Sdk> | undefined;
/** The AWS SDK, loaded on first use: it takes most of a second to import, which processes on other storage never pay. */
const sdk = () => (sdkLoading ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage'), import('@aws-sdk/s3-request-presigner')]));

/** The SDK client the settings describe; credentials come from the SDK's default provider chain. */
export async function createS3Client(settings: S3Settings): Promise<S3Client> {
  const [{ S3Client }] = await sdk();
  const config: S3ClientConfig = {
    forcePathStyle: settings.forcePathStyle,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
  };
  if (settings.endpoint) {
    config.endpoint = settings.endpoint;
    // S3-compatible servers often store the SDK's default aws-chunked checksum framing inside
    // a streamed object (s3rver does); ask for checksums only where the API requires them.
    // AWS_REQUEST_CHECKSUM_CALCULATION, read by the SDK, still overrides this.
    if (!process.env.AWS_REQUEST_CHECKSUM_CALCULATION) config.requestChecksumCalculation = 'WHEN_REQUIRED';
    if (!process.env.AWS_RESPONSE_CHECKSUM_VALIDATION) config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  const region = settings.region ?? (settings.endpoint ? 'us-east-1' : undefined);
  if (region) config.region = region;
  return new S3Client(config);
}

const contentTypeOf = (key: string) => (key.endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream');

interface AwsError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}
const statusOf = (error: unknown) => (error as AwsError)?.$metadata?.httpStatusCode;
const isNotFound = (error: unknown) => {
  const name = (error as AwsError)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
};
const describe = (error: unknown) => {
  const e = error as AwsError;
  const status = statusOf(error);
  return `${e?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e?.message || 'no message'}`;
};

/**
 * Files in an S3-compatible bucket (`STORAGE_URL=s3://bucket/prefix`): for files too
 * many or too large for the database. A write is lib-storage's Upload (one PutObject,
 * or a multipart upload for larger files), which becomes visible only when complete;
 * S3 replaces an object atomically, so the last complete writer of a key wins and a
 * reader's GET keeps the version it started with. A killed writer leaves at most an
 * incomplete multipart upload, invisible to readers, which `collectLeftovers` aborts
 * (and which a bucket lifecycle rule should abort too: docs/storage.md).
 */
export class S3Storage implements FileStorage {
  readonly kind = 's3' as const;
  private clientLoading: Promise<S3Client> | undefined;

  constructor(
    private readonly settings: S3Settings,
    client?: S3Client,
  ) {
    if (client) this.clientLoading = Promise.resolve(client);
  }

  /** The SDK client, made on first use. */
  client(): Promise<S3Client> {
    return (this.clientLoading ??= createS3Client(this.settings));
  }

  /** The SDK's modules and the client, loaded on first use. */
  private async sdk() {
    const [[s3, lib, presigner], client] = await Promise.all([sdk(), this.client()]);
    return { s3, lib, presigner, client };
  }

  get location(): string {
    return `s3://${this.settings.bucket}/${this.settings.prefix}${this.settings.endpoint ? ` at ${this.settings.endpoint}` : ''}`;
  }

  private objectKey(key: string): string {
    return `${this.settings.prefix}${key}`;
  }

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    checkKey(key);
    const { lib, client } = await this.sdk();
    let size = 0;
    let bodyError: unknown;
    // Count the bytes on their way through, and remember an error of the body itself (the renderer).
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    source.once('error', (error) => {
      bodyError ??= error;
      counted.destroy(error);
    });
    source.pipe(counted);
    const upload = new lib.Upload({
      client,
      params: { Bucket: this.settings.bucket, Key: this.objectKey(key), Body: counted, ContentType: contentTypeOf(key) },
      queueSize: 2,
      partSize: S3_PART_BYTES,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      if (bodyError) throw bodyError;
      source.destroy();
      throw new StorageUnavailableError(`Could not store ${key} in ${this.location}: ${describe(error)}`, { cause: error });
    }
    if (bodyError) throw bodyError;
    return { size };
  }

  async open(key: string): Promise<StoredFile | undefined> {
    checkKey(key);
    const { s3, client } = await this.sdk();
    try {
      const object = await client.send(new s3.GetObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      const stream = object.Body as Readable;
      return { stream, size: Number(object.ContentLength) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new StorageUnavailableError(`Could not open ${key} in ${this.location}: ${describe(error)}`, { cause: error });
    }
  }

  async size(key: string): Promise<number | undefined> {
    checkKey(key);
    const { s3, client } = await this.sdk();
    try {
      const head = await client.send(new s3.HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return Number(head.ContentLength);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new StorageUnavailableError(`Could not read ${key} in ${this.location}: ${describe(error)}`, { cause: error });
    }
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    const { s3, client } = await this.sdk();
    try {
      // S3's DeleteObject succeeds for a key that is not there: idempotent as it is.
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      if (isNotFound(error)) return;
      throw new StorageUnavailableError(`Could not remove ${key} from ${this.location}: ${describe(error)}`, { cause: error });
    }
  }

  async *list(): AsyncIterable<StoredEntry> {
    const { s3, client } = await this.sdk();
    const pages = s3.paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: this.settings.bucket, Prefix: this.settings.prefix });
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const key = object.Key?.slice(this.settings.prefix.length) ?? '';
          // Only our flat keys: nothing in a "subfolder" of the prefix, not the write probe.
          if (!STORAGE_KEY.test(key)) continue;
          yield { key, size: Number(object.Size ?? 0), storedAt: object.LastModified ?? new Date(0) };
        }
      }
    } catch (error) {
      throw new StorageUnavailableError(`Could not list ${this.location}: ${describe(error)}`, { cause: error });
    }
  }

  /**
   * Aborts multipart uploads under the prefix started before `olderThan`: what a writer
   * killed in the middle of a large file leaves (complete objects are never touched).
   */
  async collectLeftovers(olderThan: Date): Promise<Leftovers> {
    const { s3, client } = await this.sdk();
    const removed: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await client.send(
          new s3.ListMultipartUploadsCommand({ Bucket: this.settings.bucket, Prefix: this.settings.prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (error) {
        const status = statusOf(error);
        if (status === 501 || (error as AwsError)?.name === 'NotImplemented') {
          return {
            removed,
            note: `${this.location} cannot list multipart uploads (${describe(error)}): abort incomplete ones with a bucket lifecycle rule (AbortIncompleteMultipartUpload)`,
          };
        }
        throw new StorageUnavailableError(`Could not list multipart uploads in ${this.location}: ${describe(error)}`, { cause: error });
      }
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || !upload.Initiated || upload.Initiated >= olderThan) continue;
        try {
          await client.send(new s3.AbortMultipartUploadCommand({ Bucket: this.settings.bucket, Key: upload.Key, UploadId: upload.UploadId }));
        } catch (error) {
          if (isNotFound(error)) continue; // aborted or completed meanwhile
          throw new StorageUnavailableError(`Could not abort the upload of ${upload.Key} in ${this.location}: ${describe(error)}`, { cause: error });
        }
        removed.push(`incomplete multipart upload of ${upload.Key.slice(this.settings.prefix.length)} (started ${upload.Initiated.toISOString()})`);
      }
      if (!page.IsTruncated) return { removed };
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async check(opts: { write?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const { s3, client } = await this.sdk();
    const send = { ...(opts.signal ? { abortSignal: opts.signal } : {}) };
    let step = 'reach the bucket';
    try {
      await client.send(new s3.HeadBucketCommand({ Bucket: this.settings.bucket }), send);
      if (opts.write) {
        step = 'write to the bucket';
        const Key = `${this.settings.prefix}${PROBE_KEY}`;
        await client.send(new s3.PutObjectCommand({ Bucket: this.settings.bucket, Key, Body: 'ok', ContentType: 'text/plain' }), send);
        step = 'delete from the bucket';
        await client.send(new s3.DeleteObjectCommand({ Bucket: this.settings.bucket, Key }), send);
      }
    } catch (error) {
      const reason = statusOf(error) === 404 || (error as AwsError)?.name === 'NoSuchBucket' ? `bucket "${this.settings.bucket}" does not exist` : describe(error);
      throw new StorageUnavailableError(`cannot ${step} ${this.location}: ${reason}`, { cause: error });
    }
  }

  async presignedUrl(key: string, opts: { expiresInSeconds: number; fileName: string; contentType: string }): Promise<string> {
    checkKey(key);
    const { s3, presigner, client } = await this.sdk();
    const command = new s3.GetObjectCommand({
      Bucket: this.settings.bucket,
      Key: this.objectKey(key),
      ResponseContentDisposition: `attachment; filename="${opts.fileName}"`,
      ResponseContentType: opts.contentType,
      ResponseCacheControl: 'private, no-store',
    });
    return presigner.getSignedUrl(client, command, { expiresIn: opts.expiresInSeconds });
  }
}
