import type { EventPayload } from '../../events/catalog.ts';

/** The welcome mail for a new account: subject, plain text and HTML, addressed by name. */
export function renderWelcomeEmail(user: Pick<EventPayload<'user.created'>, 'name' | 'email'>): { subject: string; text: string; html: string } {
  const name = user.name.trim() || user.email;
  return {
    subject: `Welcome to Duality, ${name}`,
    text: [
      `Hello ${name},`,
      '',
      `Your Duality account for ${user.email} is ready. Sign in any time with this address.`,
      '',
      'If you did not create this account, you can ignore this message.',
      '',
      '— The Duality team',
      '',
    ].join('\n'),
    html: [
      '<!doctype html>',
      '<html><body style="font-family: sans-serif; line-height: 1.5">',
      `<p>Hello ${escapeHtml(name)},</p>`,
      `<p>Your Duality account for <strong>${escapeHtml(user.email)}</strong> is ready. Sign in any time with this address.</p>`,
      '<p>If you did not create this account, you can ignore this message.</p>',
      '<p>— The Duality team</p>',
      '</body></html>',
      '',
    ].join('\n'),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
