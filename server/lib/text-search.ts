import { z } from 'zod';

/** Terms shorter than this match the start of a word instead of anywhere (see below). */
export const SHORT_TERM_LENGTH = 3;
const LETTERS_OR_DIGITS = /^[\p{L}\p{N}]+$/u;

/**
 * The `search` input of a list. Semantics (docs/lists.md), both chosen so that a trigram
 * index (pg_trgm, GIN) answers them:
 * - 3 characters or more: a case-insensitive literal substring (`%`, `_`, `\` are plain).
 * - 1–2 characters: a case-insensitive prefix of a word (a word starts the text or follows
 *   a space), so `oa` finds "Product 1 oak" but not "boat". A trigram index cannot look up a
 *   substring this short, but it can look up the start of a word. Such a term must be
 *   letters or digits.
 */
export function searchTermSchema(what: string) {
  return z
    .string()
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
 * `whereRaw`. The short-term pattern is `(^| )xy`: pg_trgm extracts the word-start
 * trigrams from it, so it is an index lookup, not a scan.
 */
export function searchCondition(column: string, term: string): [string, string[]] {
  if ([...term].length >= SHORT_TERM_LENGTH) return [`?? ILIKE ? ESCAPE '\\'`, [column, `%${likeLiteral(term)}%`]];
  // Letters and digits only (the schema checks it), so nothing in it means anything to a regex.
  return [`?? ~* ?`, [column, `(^| )${term}`]];
}
