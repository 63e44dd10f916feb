import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { isTracing, withSpan } from '../../observability/tracing.ts';

/** One message: both a plain-text and an HTML body, as every mail we send has. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * A stable key for this message (e.g. `welcome-<event id>`). It becomes the
   * Message-ID and, with the file transport, the file name, so sending the same
   * message twice yields one file, and receivers that dedupe on Message-ID see one mail.
   */
  key?: string;
}

export interface SentMail {
  messageId: string;
  /** The .eml file written, with the file transport. */
  file?: string;
}

/** Sends mail. Built once in the composition root; subscribers and tasks receive it. */
export interface Mailer {
  readonly transport: 'file' | 'smtp';
  send(message: MailMessage): Promise<SentMail>;
  /**
   * Deletes the copy this process keeps of the mail sent with `key` (the file
   * transport's `.eml`), for data that expires; true if there was one. A mail handed to
   * an SMTP server is out of our hands: nothing to delete.
   */
  forget(key: string): Promise<boolean>;
  close(): void;
}

const SAFE_KEY = /^[A-Za-z0-9._-]{1,200}$/;

/**
 * SMTP when SMTP_URL is set; otherwise each message is written as an RFC 822 `.eml`
 * file under DATA_DIR/mail (any mail client opens it) and a line is logged, so a
 * fresh checkout sends "real" mail without any server.
 */
export function createMailer(config: Config['mail'], logger: Logger): Mailer {
  return traced(createTransportMailer(config, logger));
}

/** Each send as a `mail.send` span (when tracing), so a trace ends with the mail it caused. */
function traced(mailer: Mailer): Mailer {
  return {
    transport: mailer.transport,
    send: (message) => (isTracing() ? withSpan('mail.send', { attributes: { 'duality.mail.transport': mailer.transport } }, () => mailer.send(message)) : mailer.send(message)),
    forget: (key) => mailer.forget(key),
    close: () => mailer.close(),
  };
}

function createTransportMailer(config: Config['mail'], logger: Logger): Mailer {
  const domain = /@([^>\s]+)>?\s*$/.exec(config.from)?.[1] ?? 'localhost';
  const envelope = (message: MailMessage) => {
    if (message.key !== undefined && !SAFE_KEY.test(message.key)) throw new Error(`Mail key "${message.key}" must match ${SAFE_KEY}`);
    const key = message.key ?? `${Date.now()}-${randomUUID()}`;
    return {
      key,
      mail: { from: config.from, to: message.to, subject: message.subject, text: message.text, html: message.html, messageId: `<${key}@${domain}>` },
    };
  };

  if (config.smtpUrl) {
    const transport = nodemailer.createTransport(config.smtpUrl);
    return {
      transport: 'smtp',
      async send(message) {
        const { mail } = envelope(message);
        const info = await transport.sendMail(mail);
        logger.info({ mail: { messageId: info.messageId } }, 'mail sent by SMTP');
        logger.debug({ mail: { to: message.to, subject: message.subject, messageId: info.messageId } }, 'mail recipient');
        return { messageId: info.messageId };
      },
      forget: async () => false,
      close: () => transport.close(),
    };
  }

  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    transport: 'file',
    async send(message) {
      const { key, mail } = envelope(message);
      const info = await transport.sendMail(mail);
      // Mails are personal data: only this OS user may read them (0700 directory, 0600 files).
      await fs.mkdir(config.dir, { recursive: true, mode: 0o700 });
      const file = path.join(config.dir, `${key}.eml`);
      // Write then rename, so a reader never sees half a message.
      const partial = `${file}.${process.pid}.partial`;
      await fs.writeFile(partial, info.message as Buffer, { mode: 0o600 });
      await fs.rename(partial, file);
      // The recipient and subject name a person: info lines (kept and shipped) get the
      // message's ids only; debug has the rest for local troubleshooting.
      logger.info({ mail: { messageId: info.messageId, file } }, `mail written to ${file}`);
      logger.debug({ mail: { to: message.to, subject: message.subject, messageId: info.messageId } }, 'mail recipient');
      return { messageId: info.messageId, file };
    },
    async forget(key) {
      if (!SAFE_KEY.test(key)) throw new Error(`Mail key "${key}" must match ${SAFE_KEY}`);
      try {
        await fs.unlink(path.join(config.dir, `${key}.eml`));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
    close: () => transport.close(),
  };
}
