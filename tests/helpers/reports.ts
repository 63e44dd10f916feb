import type { Readable } from 'node:stream';
import type { MailMessage, Mailer } from '../../server/modules/notifications/mailer.ts';
import { StorageUnavailableError, type ReportStorage } from '../../server/modules/reports/report.storage.ts';

/**
 * The app's real report storage, failing on demand: the next `failPuts` puts (or
 * every put, with `failPuts = Infinity`) throw StorageUnavailableError, as a full disk
 * or an unreachable bucket would. Counts the puts it let through.
 */
export class FlakyStorage implements ReportStorage {
  failPuts = 0;
  puts = 0;
  failed = 0;
  constructor(readonly inner: ReportStorage) {}
  get kind() {
    return this.inner.kind;
  }
  get location() {
    return this.inner.location;
  }

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    if (this.failPuts > 0) {
      this.failPuts -= 1;
      this.failed += 1;
      if (!Buffer.isBuffer(body)) body.destroy();
      throw new StorageUnavailableError('Storage unavailable (injected by the test)');
    }
    this.puts += 1;
    return this.inner.put(key, body);
  }
  open(key: string) {
    return this.inner.open(key);
  }
  size(key: string) {
    return this.inner.size(key);
  }
  remove(key: string) {
    return this.inner.remove(key);
  }
  list() {
    return this.inner.list();
  }
  collectLeftovers(olderThan: Date) {
    return this.inner.collectLeftovers(olderThan);
  }
  check(opts?: { write?: boolean; signal?: AbortSignal }) {
    return this.inner.check(opts);
  }
}

/** The app's real mailer (files under DATA_DIR/mail), counting sends and failing the next `failSends` on demand. */
export class CountingMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  failSends = 0;
  failed = 0;
  constructor(readonly inner: Mailer) {}
  get transport() {
    return this.inner.transport;
  }
  async send(message: MailMessage) {
    if (this.failSends > 0) {
      this.failSends -= 1;
      this.failed += 1;
      throw new Error('connect ECONNREFUSED 127.0.0.1:25 (injected by the test)');
    }
    const sent = await this.inner.send(message);
    this.sent.push(message);
    return sent;
  }
  forget(key: string) {
    return this.inner.forget(key);
  }
  close() {
    this.inner.close();
  }
}

export { makeReport } from '../../server/modules/reports/report.factory.ts';
