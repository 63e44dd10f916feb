import type { EventPayload } from '../../events/catalog.ts';
import type { UserEvents } from '../users/user.events.ts';
import { escapeHtml, layoutMail, type RenderedMail } from './mail.layout.ts';

/** The welcome mail for a new account: subject, plain text and HTML, addressed by name. */
export function renderWelcomeEmail(user: Pick<EventPayload<UserEvents, 'user.created'>, 'name' | 'email'>): RenderedMail {
  const name = user.name.trim() || user.email;
  return layoutMail(`Welcome to Duality, ${name}`, name, [
    {
      text: `Your Duality account for ${user.email} is ready. Sign in any time with this address.`,
      html: `Your Duality account for <strong>${escapeHtml(user.email)}</strong> is ready. Sign in any time with this address.`,
    },
    { text: 'If you did not create this account, you can ignore this message.', html: 'If you did not create this account, you can ignore this message.' },
  ]);
}
