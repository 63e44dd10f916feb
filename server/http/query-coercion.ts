type Coercion = 'number' | 'boolean';

interface ZodLike {
  _zod?: { def: { type: string; innerType?: ZodLike; in?: ZodLike; shape?: Record<string, ZodLike> } };
}

/** The schema under optional/default/nullable/pipe wrappers. */
function unwrap(schema: ZodLike | undefined): ZodLike | undefined {
  let s = schema;
  for (let i = 0; s?._zod && i < 10; i++) {
    const def = s._zod.def;
    if (def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else break;
  }
  return s;
}

/**
 * Query strings carry only text. For each top-level input field declared as a number
 * or boolean, turn its text into that type before validation (so `page=2` is 2, and
 * `page=abc` still fails validation with a clear message). Worked out once per route.
 */
export function queryCoercer(inputSchema: unknown): (query: Record<string, unknown>) => Record<string, unknown> {
  const shape = unwrap(inputSchema as ZodLike)?._zod?.def.shape;
  if (!shape) return (q) => q;
  const fields: [string, Coercion][] = [];
  for (const [key, field] of Object.entries(shape)) {
    const type = unwrap(field)?._zod?.def.type;
    if (type === 'number' || type === 'int') fields.push([key, 'number']);
    else if (type === 'boolean') fields.push([key, 'boolean']);
  }
  if (!fields.length) return (q) => q;
  return (query) => {
    for (const [key, kind] of fields) {
      const value = query[key];
      if (typeof value !== 'string') continue;
      if (kind === 'number' && value.trim() !== '' && !Number.isNaN(Number(value))) query[key] = Number(value);
      else if (kind === 'boolean' && (value === 'true' || value === 'false')) query[key] = value === 'true';
    }
    return query;
  };
}

/** True when the procedure takes no input (no parser, or z.void()/z.undefined()): REST then passes none. */
export function takesNoInput(inputSchema: unknown): boolean {
  if (inputSchema === undefined) return true;
  const type = unwrap(inputSchema as ZodLike)?._zod?.def.type;
  return type === 'void' || type === 'undefined' || type === 'never';
}
