import { escapeHtml, layoutMail, type MailParagraph, type RenderedMail } from './mail.layout.ts';

/**
 * The account mails. None puts user-chosen text in the subject (subjects are fixed), and
 * a mail to an address nobody has verified yet greets the address, not the chosen name:
 * whoever signs up with someone else's address must not get to write to them.
 */

/** The account a mail is about. */
export interface MailRecipient {
  email: string;
  name: string;
  emailVerified: boolean;
}

/** A code the reader copies into the app, with when it stops working. */
export interface MailedCode {
  token: string;
  expiresAt: Date;
}

const greeting = (to: MailRecipient) => (to.emailVerified && to.name.trim() ? to.name.trim() : to.email);

function codeParagraphs(what: string, code: MailedCode): MailParagraph[] {
  const until = code.expiresAt.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  return [
    { text: `${what}, use this code (it works once, until ${until}):`, html: `${escapeHtml(what)}, use this code (it works once, until ${until}):` },
    { text: `    ${code.token}`, html: `<code style="font-size: 1.2em">${code.token}</code>` },
  ];
}

/** Sent on sign-up: welcome, and the code that verifies the address (none when already verified). */
export function renderWelcomeEmail(to: MailRecipient, verification?: MailedCode): RenderedMail {
  return layoutMail('Welcome to Duality', greeting(to), [
    {
      text: `Your Duality account for ${to.email} is ready. Sign in any time with this address.`,
      html: `Your Duality account for <strong>${escapeHtml(to.email)}</strong> is ready. Sign in any time with this address.`,
    },
    ...(verification ? codeParagraphs('To confirm that this address is yours', verification) : []),
    { text: 'If you did not create this account, you can ignore this message.', html: 'If you did not create this account, you can ignore this message.' },
  ]);
}

/** Asked for again (auth.resendVerification): a new code; the previous one no longer works. */
export function renderVerificationEmail(to: MailRecipient, verification: MailedCode): RenderedMail {
  return layoutMail('Confirm your email address', greeting(to), [
    ...codeParagraphs('To confirm that this address is yours', verification),
    { text: 'Any code sent before this one no longer works.', html: 'Any code sent before this one no longer works.' },
  ]);
}

/** Someone signed up with an address that already has an account. */
export function renderSignUpAttemptEmail(to: MailRecipient): RenderedMail {
  return layoutMail('Someone tried to sign up with your address', greeting(to), [
    {
      text: `Someone just tried to create a Duality account for ${to.email}, which already has one. Nothing was changed.`,
      html: `Someone just tried to create a Duality account for <strong>${escapeHtml(to.email)}</strong>, which already has one. Nothing was changed.`,
    },
    {
      text: 'If it was you, sign in with your password, or reset it if you have forgotten it. If not, you can ignore this message.',
      html: 'If it was you, sign in with your password, or reset it if you have forgotten it. If not, you can ignore this message.',
    },
  ]);
}

/** auth.requestPasswordReset for an existing account. */
export function renderPasswordResetEmail(to: MailRecipient, reset: MailedCode): RenderedMail {
  return layoutMail('Reset your Duality password', greeting(to), [
    ...codeParagraphs('To choose a new password', reset),
    {
      text: 'Resetting it signs you out everywhere. If you did not ask for this, ignore this message: your password stays as it is.',
      html: 'Resetting it signs you out everywhere. If you did not ask for this, ignore this message: your password stays as it is.',
    },
  ]);
}
