import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Storage } from '../../server/storage/s3.ts';

/**
 * Collecting a killed writer's incomplete multipart uploads, by the S3 API's own
 * contract: s3rver implements neither ListMultipartUploads nor AbortMultipartUpload,
 * so these calls are answered here, the way S3 documents them.
 */
const settings = { bucket: 'reports', prefix: 'files/', forcePathStyle: true };
const hourAgo = new Date(Date.now() - 3_600_000);
const justNow = new Date();

function fakeS3(pages: { Uploads: { Key: string; UploadId: string; Initiated: Date }[]; IsTruncated?: boolean; NextKeyMarker?: string; NextUploadIdMarker?: string }[]) {
  const sent: { name: string; input: any }[] = [];
  const client = {
    async send(command: { constructor: { name: string }; input: any }) {
      sent.push({ name: command.constructor.name, input: command.input });
      if (command instanceof ListMultipartUploadsCommand) return pages.shift() ?? { Uploads: [] };
      if (command instanceof AbortMultipartUploadCommand) {
        if (command.input.UploadId === 'gone') throw Object.assign(new Error('NoSuchUpload'), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
        return {};
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  };
  return { client: client as unknown as S3Client, sent };
}

describe('S3 storage: incomplete multipart uploads', () => {
  it('aborts those started before the cutoff, under the prefix, across pages, and leaves fresh ones', async () => {
    const { client, sent } = fakeS3([
      {
        Uploads: [
          { Key: 'files/old.pdf', UploadId: 'u1', Initiated: hourAgo },
          { Key: 'files/fresh.pdf', UploadId: 'u2', Initiated: justNow },
        ],
        IsTruncated: true,
        NextKeyMarker: 'files/fresh.pdf',
        NextUploadIdMarker: 'u2',
      },
      { Uploads: [{ Key: 'files/older.pdf', UploadId: 'u3', Initiated: hourAgo }, { Key: 'files/raced.pdf', UploadId: 'gone', Initiated: hourAgo }] },
    ]);
    const storage = new S3Storage(settings, client);
    const { removed, note } = await storage.collectLeftovers(new Date(Date.now() - 600_000));
    expect(note).toBeUndefined();
    expect(removed).toEqual([`incomplete multipart upload of old.pdf (started ${hourAgo.toISOString()})`, `incomplete multipart upload of older.pdf (started ${hourAgo.toISOString()})`]);
    const lists = sent.filter((c) => c.name === 'ListMultipartUploadsCommand').map((c) => c.input);
    expect(lists).toEqual([
      { Bucket: 'reports', Prefix: 'files/', KeyMarker: undefined, UploadIdMarker: undefined },
      { Bucket: 'reports', Prefix: 'files/', KeyMarker: 'files/fresh.pdf', UploadIdMarker: 'u2' },
    ]);
    const aborts = sent.filter((c) => c.name === 'AbortMultipartUploadCommand').map((c) => c.input.UploadId);
    expect(aborts).toEqual(['u1', 'u3', 'gone']);
  });

  it('a server that cannot list them says so, and what to do instead', async () => {
    const client = {
      async send() {
        throw Object.assign(new Error('A parameter you provided implies functionality that is not implemented'), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
      },
    } as unknown as S3Client;
    const { removed, note } = await new S3Storage(settings, client).collectLeftovers(new Date());
    expect(removed).toEqual([]);
    expect(note).toContain('AbortIncompleteMultipartUpload');
  });
});
