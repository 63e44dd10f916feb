import { z } from 'zod';
import { text } from './text.ts';

/**
 * Exact decimals for money. Values travel as strings ("19.90"); PostgreSQL NUMERIC
 * does any arithmetic. A JSON number is accepted on input only when its shortest
 * decimal form already has at most two places, so no float rounding can sneak in.
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

/** A zod input schema for a decimal given as a string or a JSON number; outputs the normalized string. */
export function decimalInput(rules: DecimalRules, meta: { description: string; example: string }) {
  return z
    .union([text(), z.number()])
    .transform((value, ctx) => {
      const result = parseDecimal(value, rules);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: result.message, input: value });
      return z.NEVER;
    })
    .meta(meta);
}

/** NUMERIC(10,2) money: greater than 0, at most 99999999.99. */
export const PRICE_RULES: DecimalRules = { sign: 'positive', maxIntegerDigits: 8, scale: 2 };
export const PRICE_BOUND_RULES: DecimalRules = { sign: 'non-negative', maxIntegerDigits: 8, scale: 2 };

/** A money amount as it leaves the server: a string with exactly two decimals. */
export const MoneyString = z.string().regex(/^\d{1,8}\.\d{2}$/).meta({ description: 'Exact decimal with two places', example: '19.90' });
