import { escapeHtml, layoutMail, type RenderedMail } from '../notifications/mail.layout.ts';

/** The "your report is ready" mail: subject, plain text and HTML, with the download link. */
export function renderReadyEmail(input: { name: string; fileUrl: string; size: number }): RenderedMail {
  const name = input.name.trim() || 'there';
  const size = `${Math.max(1, Math.round(input.size / 1024))} KB`;
  return layoutMail('Your product catalog report is ready', name, [
    {
      text: `The product catalog report you asked for is ready (PDF, ${size}):\n${input.fileUrl}`,
      html: `The product catalog report you asked for is ready (PDF, ${size}): <a href="${escapeHtml(input.fileUrl)}">download it</a>.`,
    },
    {
      text: 'The link works while you are signed in as the account that asked for it.',
      html: 'The link works while you are signed in as the account that asked for it.',
    },
  ]);
}
