import { z } from 'zod';
import { text } from './text.ts';

/**
 * Exact decimals for money. Values travel as strings ("19.90"); PostgreSQL NUMERIC
 * does any arithmetic. Inputs are strings too (a JSON number is refused, see
 * `decimalInput`), so no float rounding can sneak in.
 */
const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

export interface DecimalRules {
  /** Smallest allowed value: exclusive for "positive", inclusive for "non-negative". */
  sign: 'positive' | 'non-negative';
  maxIntegerDigits: number;
  scale: number;
}

export type DecimalCheck = { ok: true; value: string } | { ok: false; message: string };

/** Validates and normalizes to exactly `scale` places, e.g. 19.9 → "19.90". */
export function parseDecimal(input: string | number, rules: DecimalRules): DecimalCheck {
  const text = typeof input === 'number' ? (Number.isFinite(input) ? String(input) : 'NaN') : input.trim();
  const match = DECIMAL.exec(text);
  if (!match) return { ok: false, message: 'Must be a plain decimal number such as "19.90"' };
  const [, minus, whole = '', fraction = ''] = match;
  if (fraction.length > rules.scale) return { ok: false, message: `Must have at most ${rules.scale} decimal places` };
  const integer = whole.replace(/^0+(?=\d)/, '');
  const isZero = /^0*$/.test(whole) && /^0*$/.test(fraction);
  if (minus && !isZero) return { ok: false, message: rules.sign === 'positive' ? 'Must be greater than 0' : 'Must be 0 or more' };
  if (isZero && rules.sign === 'positive') return { ok: false, message: 'Must be greater than 0' };
  if (integer.length > rules.maxIntegerDigits) {
    return { ok: false, message: `Must be at most ${'9'.repeat(rules.maxIntegerDigits)}.${'9'.repeat(rules.scale)}` };
  }
  return { ok: true, value: `${integer}.${fraction.padEnd(rules.scale, '0')}` };
}

/** Compares two normalized decimals of the same scale without floats. */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const x = BigInt(a.replace('.', ''));
  const y = BigInt(b.replace('.', ''));
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * The regular expression the OpenAPI document gives for a decimal under `rules`: digits,
 * at most `scale` places, no sign, no exponent, no leading zeros, and (for "positive")
 * not zero. The server also takes leading zeros and surrounding spaces; it refuses
 * nothing this pattern allows.
 */
export function decimalPattern(rules: DecimalRules): string {
  const whole = `[1-9]\\d{0,${rules.maxIntegerDigits - 1}}`;
  const fraction = `(?:\\.\\d{1,${rules.scale}})?`;
  if (rules.sign === 'non-negative') return `^(?:0|${whole})${fraction}$`;
  // 0.01 … 0.99 spelled without lookahead, which generators and validators all read alike.
  const small = Array.from({ length: rules.scale }, (_, zeros) => `${'0'.repeat(zeros)}[1-9]\\d{0,${rules.scale - 1 - zeros}}`).join('|');
  return `^(?:${whole}${fraction}|0\\.(?:${small}))$`;
}

/**
 * A zod input schema for a decimal given as a string; outputs the normalized string.
 * A JSON number is refused: `19.9` would pass by luck and `0.1 + 0.2` would not, and a
 * client that sends a float has already lost the exact value.
 */
export function decimalInput(rules: DecimalRules, meta: { description: string; example: string }) {
  return text({ error: { error: (issue) => (issue.input === undefined ? undefined : 'Must be a decimal string such as "19.90", not a number') } })
    .transform((value, ctx) => {
      const result = parseDecimal(value, rules);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: result.message, input: value });
      return z.NEVER;
    })
    .meta({ ...meta, pattern: decimalPattern(rules) });
}

/** NUMERIC(10,2) money: greater than 0, at most 99999999.99. */
export const PRICE_RULES: DecimalRules = { sign: 'positive', maxIntegerDigits: 8, scale: 2 };
export const PRICE_BOUND_RULES: DecimalRules = { sign: 'non-negative', maxIntegerDigits: 8, scale: 2 };

/** A money amount as it leaves the server: a string with exactly two decimals. */
export const MoneyString = z.string().regex(/^\d{1,8}\.\d{2}$/).meta({ description: 'Exact decimal with two places', example: '19.90' });
