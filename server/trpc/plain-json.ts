import type { z } from 'zod';

/**
 * Whether every value `schema` outputs is plain JSON that superjson would pass through
 * untouched: `superjson.serialize(value)` is then `{ json: value }` with no `meta`, so the
 * tRPC door can write `JSON.stringify(value)` into the envelope without superjson's walk
 * of the value (bench/cpu-profile.ts). Strings (every format), booleans, strictly positive
 * numbers (superjson marks -0, which any `min(0)` number may be), string enums and
 * literals, null, and objects (that drop unknown keys), arrays, unions, defaults and
 * readonly of those. Anything else (optional fields, whose `undefined` superjson keeps;
 * dates, maps, bigints, transforms, records, unknown) says no, and superjson runs as before.
 */
export function outputIsPlainJson(schema: unknown): boolean {
  return plain(schema, 0);
}

type Def = { type: string; [key: string]: unknown };

function plain(schema: unknown, depth: number): boolean {
  const def = (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
  if (!def || depth > 50) return false;
  switch (def.type) {
    case 'string':
    case 'boolean':
    case 'null':
      return true;
    case 'number':
      return positive(def.checks as { _zod: { def: { check: string; value?: unknown; inclusive?: boolean } } }[] | undefined);
    case 'enum':
      return Object.values(def.entries as Record<string, unknown>).every((v) => typeof v === 'string');
    case 'literal':
      return (def.values as unknown[]).every((v) => typeof v === 'string' || typeof v === 'boolean' || v === null || (typeof v === 'number' && v > 0 && Number.isFinite(v)));
    case 'nullable':
    case 'default':
    case 'readonly':
      return plain(def.innerType, depth + 1);
    case 'array':
      return plain(def.element, depth + 1);
    case 'union':
      return (def.options as unknown[]).every((o) => plain(o, depth + 1));
    case 'object': {
      const catchall = (def.catchall as z.ZodType | undefined)?._zod.def.type;
      if (catchall !== undefined && catchall !== 'never') return false;
      return Object.entries(def.shape as Record<string, unknown>).every(([key, field]) => key !== '__proto__' && plain(field, depth + 1));
    }
    default:
      return false;
  }
}

function positive(checks: { _zod: { def: { check: string; value?: unknown; inclusive?: boolean } } }[] | undefined): boolean {
  return (checks ?? []).some(({ _zod: { def } }) => def.check === 'greater_than' && typeof def.value === 'number' && (def.value > 0 || (def.value === 0 && !def.inclusive)));
}
