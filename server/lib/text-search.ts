import { text } from './text.ts';

/** Terms shorter than this match the start of a word instead of anywhere (see below). */
export const SHORT_TERM_LENGTH = 3;
const LETTERS_OR_DIGITS = /^[\p{L}\p{N}]+$/u;

/**
 * The `search` input of a list. Semantics (docs/lists.md), both chosen so that a trigram
 * index (pg_trgm, GIN) answers them, and both case-insensitive the same way (ILIKE's):
 * - 3 characters or more: a case-insensitive literal substring (`%`, `_`, `\` are plain).
 * - 1–2 characters: a case-insensitive prefix of a word (a word starts the text or follows
 *   a space), so `oa` finds "Product 1 oak" but not "boat". A trigram index cannot look up a
 *   substring this short, but it can look up the start of a word. Such a term must be
 *   letters or digits.
 */
export function searchTermSchema(what: string) {
  return text()
    .max(200)
    .refine((term) => term === '' || [...term].length >= SHORT_TERM_LENGTH || LETTERS_OR_DIGITS.test(term), {
      message: `A search term of 1–2 characters must be letters or digits (it matches the start of a word)`,
    })
    .optional()
    .meta({
      description: `Case-insensitive. 3 characters or more: a literal substring of ${what}. 1–2 characters (letters or digits): the start of a word of ${what} (a word begins the text or follows a space)`,
    });
}

/** Escapes LIKE's wildcards so a term only ever matches itself. */
export function likeLiteral(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The SQL condition for `term` on `column` (an identifier), as `[sql, bindings]` for
 * `whereRaw`.
 *
 * A short term is two ILIKEs, `% xy%` (a word after a space) OR `xy%` (the first word):
 * pg_trgm extracts the word-start trigrams (`"  x"`, `" xy"`) from both, so a rare term is
 * a BitmapOr of two lookups in the column's trigram index. A common one is read along the
 * list's order with the condition as a filter, and its capped count reads rows until 1,001
 * match (~5,000 at 20 %): there the per-row cost decides, and the two ILIKEs, the word
 * after a space first (most matches stop there), cost ~15 % less than the regex `(^| )xy`
 * that did the same before (docs/lists.md).
 *
 * With `wordIndex` (the column has a GIN index on `to_tsvector('simple', column)`), a term
 * holding whole words (letters and digits with a space on both sides, as `500000` in
 * `Product 500000 `) is looked up by those words, and the substring match only rechecks
 * what they found. It is written so that it cannot use the trigram index (`|| ''`): the
 * planner underestimates a trigram scan of common trigrams and would pick it.
 */
export function searchCondition(column: string, term: string, opts: { wordIndex?: boolean } = {}): [string, string[]] {
  if ([...term].length < SHORT_TERM_LENGTH) {
    // Letters and digits only (the schema checks it); escaped all the same, so that a caller
    // that skips the schema still gets a literal match, never a wildcard.
    const literal = likeLiteral(term);
    return [`(?? ILIKE ? ESCAPE '\\' OR ?? ILIKE ? ESCAPE '\\')`, [column, `% ${literal}%`, column, `${literal}%`]];
  }
  const pattern = `%${likeLiteral(term)}%`;
  const words = opts.wordIndex ? wholeWords(term) : [];
  if (words.length === 0) return [`?? ILIKE ? ESCAPE '\\'`, [column, pattern]];
  return [`to_tsvector('simple', ??) @@ ?::tsquery AND (?? || '') ILIKE ? ESCAPE '\\'`, [column, words.map((w) => `'${w}'`).join(' & '), column, pattern]];
}

/**
 * The words of `term` that are whole in every match: bounded by spaces on both sides inside
 * the term (the first and last pieces may be parts of longer words). ASCII letters and digits
 * only, for which the `simple` parser makes exactly one lowercase lexeme.
 */
export function wholeWords(term: string): string[] {
  const inner = term.split(' ').slice(1, -1);
  return [...new Set(inner.filter((w) => /^[a-z0-9]+$/i.test(w)).map((w) => w.toLowerCase()))];
}
