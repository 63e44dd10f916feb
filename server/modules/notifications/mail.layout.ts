/** A rendered mail: what the mailer sends. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** A paragraph as plain text and as HTML (already escaped where it carries user data). */
export interface MailParagraph {
  text: string;
  html: string;
}

/**
 * The house layout every mail shares: greeting, paragraphs, signature, in a plain-text
 * part and an HTML part. Modules write only their paragraphs.
 */
export function layoutMail(subject: string, greetingName: string, paragraphs: MailParagraph[]): RenderedMail {
  const sign = '— The Duality team';
  return {
    subject,
    text: [`Hello ${greetingName},`, ...paragraphs.map((p) => p.text), sign, ''].join('\n\n').replace(/\n\n$/, '\n'),
    html: [
      '<!doctype html>',
      '<html><body style="font-family: sans-serif; line-height: 1.5">',
      `<p>Hello ${escapeHtml(greetingName)},</p>`,
      ...paragraphs.map((p) => `<p>${p.html}</p>`),
      `<p>${sign}</p>`,
      '</body></html>',
      '',
    ].join('\n'),
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
