import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { defineModule } from '../../lib/module.ts';
import { createMailer, type Mailer } from './mailer.ts';
import { notificationSubscribers } from './notification.subscribers.ts';

/** Mail: the app's mailer (SMTP, or .eml files) and the mails sent on other modules' events. */
export const notificationsModule = defineModule({
  name: 'notifications',
  services: {
    /** Default: SMTP when SMTP_URL is set, otherwise .eml files under DATA_DIR/mail; tests pass their own. */
    mailer: ({ config, logger, overrides }: { config: Config; logger: Logger; overrides: { mailer?: Mailer } }) => overrides.mailer ?? createMailer(config.mail, logger),
  },
  subscribers: notificationSubscribers,
  close: ({ mailer }) => mailer.close(),
});
