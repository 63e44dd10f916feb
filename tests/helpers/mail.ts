import fs from 'node:fs/promises';
import path from 'node:path';

/** The .eml files the file mail transport wrote under `dataDir/mail`, by name. */
export async function mailFiles(dataDir: string): Promise<Map<string, string>> {
  const dir = path.join(dataDir, 'mail');
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.eml')).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await fs.readFile(path.join(dir, n), 'utf8')] as [string, string])));
}

export interface ParsedMail {
  headers: Map<string, string>;
  /** Decoded body of each part, by content type (text/plain, text/html). */
  parts: Map<string, string>;
}

/**
 * Just enough MIME to read what our mailer writes: unfolded headers and the decoded
 * parts of a multipart/alternative body (quoted-printable or base64).
 */
export function parseMail(eml: string): ParsedMail {
  const [head = '', ...rest] = eml.replace(/\r\n/g, '\n').split('\n\n');
  const headers = readHeaders(head);
  const body = rest.join('\n\n');
  const parts = new Map<string, string>();
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  const chunks = boundary ? body.split(`--${boundary}`).slice(1, -1) : [`${head}\n\n${body}`];
  for (const chunk of chunks) {
    const [partHead = '', ...partBody] = chunk.replace(/^\n/, '').split('\n\n');
    const h = readHeaders(partHead);
    const type = (h.get('content-type') ?? 'text/plain').split(';')[0]!.trim();
    parts.set(type, decode(partBody.join('\n\n'), h.get('content-transfer-encoding') ?? '7bit'));
  }
  return { headers, parts };
}

function readHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function decode(text: string, encoding: string): string {
  if (/base64/i.test(encoding)) return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/quoted-printable/i.test(encoding)) {
    const bytes = text.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => `%${hex}`);
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
  }
  return text;
}
