/** The "your report is ready" mail: subject, plain text and HTML, with the download link. */
export function renderReadyEmail(input: { name: string; fileUrl: string; size: number }): { subject: string; text: string; html: string } {
  const name = input.name.trim() || 'there';
  const size = `${Math.max(1, Math.round(input.size / 1024))} KB`;
  return {
    subject: 'Your product catalog report is ready',
    text: [
      `Hello ${name},`,
      '',
      `The product catalog report you asked for is ready (PDF, ${size}):`,
      input.fileUrl,
      '',
      'The link works while you are signed in as the account that asked for it.',
      '',
      '— The Duality team',
      '',
    ].join('\n'),
    html: [
      '<!doctype html>',
      '<html><body style="font-family: sans-serif; line-height: 1.5">',
      `<p>Hello ${escapeHtml(name)},</p>`,
      `<p>The product catalog report you asked for is ready (PDF, ${size}): <a href="${escapeHtml(input.fileUrl)}">download it</a>.</p>`,
      '<p>The link works while you are signed in as the account that asked for it.</p>',
      '<p>— The Duality team</p>',
      '</body></html>',
      '',
    ].join('\n'),
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
