import { z } from 'zod';

/**
 * C0 control characters (U+0000–U+001F) and DEL. PostgreSQL cannot store NUL in text at
 * all (it answers "invalid byte sequence"), and the others are never what a person
 * typed into a name or a search box: they only hide text from the next reader of a log,
 * a mail or a PDF.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001F\u007F]/;
/** The same, but tab, line feed and carriage return are allowed (multi-line fields). */
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_BUT_NEWLINES = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export const CONTROL_CHARACTER_MESSAGE = 'Must not contain control characters';
/** The issue code a control character gives, so clients can tell it from other input errors. */
export const CONTROL_CHARACTER_CODE = 'control_character';

/**
 * The one string schema every string input is built from: a plain `z.string()` that
 * refuses NUL and the other C0 control characters (400 with a `control_character`
 * issue at the field's path). Pass `multiline: true` where a field may hold line breaks
 * and tabs. Chain `.trim()`, `.min()`, `.max()`, `.pipe()` on it as on any string.
 *
 * tests/http/control-characters.test.ts walks the router and sends a NUL and a bell to
 * every string field of every procedure's input, on both doors, so a field built from
 * bare `z.string()` fails there.
 */
export function text(opts: { multiline?: boolean; error?: Parameters<typeof z.string>[0] } = {}) {
  const pattern = opts.multiline ? CONTROL_BUT_NEWLINES : CONTROL;
  return z.string(opts.error).check((ctx) => {
    if (pattern.test(ctx.value)) ctx.issues.push({ code: 'custom', message: CONTROL_CHARACTER_MESSAGE, input: ctx.value, params: { reason: CONTROL_CHARACTER_CODE } });
  });
}
