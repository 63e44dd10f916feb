import { subscriber } from '../../events/bus.ts';
import { userEvents } from '../users/user.events.ts';
import type { Mailer } from './mailer.ts';
import { renderWelcomeEmail } from './welcome.email.ts';

/**
 * What notifications listens to. The users module publishes `user.created` without
 * knowing this exists; the module list introduces the two.
 */
export const notificationSubscribers = ({ mailer }: { mailer: Mailer }) => [
  subscriber(userEvents, 'user.created', 'notifications.welcome-email', async (event) => {
    const { subject, text, html } = renderWelcomeEmail(event.payload);
    // Keyed by the event id: a delivery repeated after a crash between sending and
    // committing rewrites the same file (or reuses the same Message-ID over SMTP).
    await mailer.send({ to: event.payload.email, subject, text, html, key: `welcome-${event.id}` });
  }),
];
