import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Model, QueryBuilder } from 'objection';
import { z } from 'zod';
import { text } from './text.ts';
import { ValidationError } from '../errors.ts';
import { positional, runStatement } from '../db/statements.ts';

/**
 * Every list pages the same way (docs/lists.md):
 *
 * - **Cursor (keyset)**: each page answers `nextCursor`; pass it back as `cursor` for the
 *   next page. The cursor holds the last row's position in the list's order, so the next
 *   page starts with an index seek, whatever the depth, and a walk returns every row
 *   that matches throughout the walk exactly once, even while rows are inserted or removed.
 * - **Page numbers**, for page-numbered screens, reach the first {@link MAX_PAGE_DEPTH} rows
 *   (`page × size`); deeper pages are refused with a 400 that points to `cursor`.
 * - **Counts** stop at {@link COUNT_CAP}: `total` is exact below it, a lower bound at it
 *   (`totalExact: false`). Cursor pages do not count again (`total: null`).
 */
export const MAX_PAGE_DEPTH = 10_000;
export const COUNT_CAP = 1_000;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
const DEPTH_MESSAGE = `Page numbers reach the first ${MAX_PAGE_DEPTH} items (page × size ≤ ${MAX_PAGE_DEPTH}); to read further, follow nextCursor from any page`;

/** `cursor`, `page` and `size` as every list takes them; spread into a list's input schema. */
export const listQueryFields = {
  cursor: text()
    .min(1)
    .max(2000)
    .optional()
    .meta({ description: 'Opaque position from a previous page’s `nextCursor`: this page starts right after it. Only valid with the same filters; cannot be combined with `page`' }),
  page: z
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_DEPTH, { message: DEPTH_MESSAGE })
    .optional()
    .meta({ description: `Page number, from 1 (the default when no cursor is given). Page numbers reach the first ${MAX_PAGE_DEPTH} items: page × size ≤ ${MAX_PAGE_DEPTH}; go further with \`cursor\`` }),
  size: z
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(DEFAULT_PAGE_SIZE)
    .meta({ description: `Items per page, 1–${MAX_PAGE_SIZE}` }),
};

export interface ListQuery {
  cursor?: string | undefined;
  page?: number | undefined;
  size: number;
}

/** One page of a list, as every list answers it. */
export interface Page<T> {
  items: T[];
  size: number;
  nextCursor: string | null;
  page: number | null;
  total: number | null;
  totalExact: boolean;
  pages: number | null;
}

/** The output schema of a page of `item`, registered in the OpenAPI document as `id`. */
export function listPageSchema<T extends z.ZodType>(item: T, id: string, noun: string) {
  return z
    .object({
      items: z.array(item),
      size: z.number().int().min(1).max(MAX_PAGE_SIZE),
      nextCursor: z
        .string()
        .nullable()
        .meta({ description: 'Pass as `cursor` (with the same filters) for the next page; null on the last page' }),
      page: z.number().int().min(1).nullable().meta({ description: 'The page number answered; null when the page was asked for by cursor' }),
      total: z
        .number()
        .int()
        .min(0)
        .nullable()
        .meta({
          description: `Matching ${noun}, counted up to ${COUNT_CAP}: exact when totalExact is true, otherwise at least this many. Null on cursor pages (the first page already said)`,
        }),
      totalExact: z.boolean().meta({ description: `true when total is the exact number of matching ${noun}; false when counting stopped at ${COUNT_CAP} or total is null` }),
      pages: z.number().int().min(0).nullable().meta({ description: 'Pages at this size, from total (a lower bound when totalExact is false); null when total is null' }),
    })
    .meta({ id });
}

/** How a key column is written into a cursor and read back into SQL. */
type KeyType = 'timestamptz' | 'uuid' | 'text';

export interface ListKey {
  /** The column in snake_case, as in SQL. */
  column: string;
  type: KeyType;
}

/**
 * A list's identity and order, declared once (next to its model). The keys must end with a
 * unique column (the id) so that the order is total: no two rows tie, so no page repeats or
 * skips a row. One direction for all keys: the position is a row comparison
 * `(a, b) < ($1, $2)`, which PostgreSQL answers from a matching index in one seek.
 */
export interface ListDefinition {
  /** Binds cursors to this list; a cursor of another list is refused. */
  name: string;
  table: string;
  direction: 'asc' | 'desc';
  keys: [...ListKey[], ListKey];
}

export function defineList(def: ListDefinition): ListDefinition {
  return def;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

const keySql: Record<KeyType, { select: string; cast: string; valid: (v: unknown) => boolean }> = {
  // Microseconds matter: a JS Date would round them away and the next page would repeat rows.
  timestamptz: {
    select: `to_char(?? AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    cast: '?::timestamptz',
    valid: (v) => typeof v === 'string' && TIMESTAMP.test(v) && new Date(`${v.slice(0, 23)}Z`).toISOString().slice(0, 23) === v.slice(0, 23),
  },
  uuid: { select: '??::text', cast: '?::uuid', valid: (v) => typeof v === 'string' && UUID.test(v) },
  text: { select: '??::text', cast: '?::text', valid: (v) => typeof v === 'string' && v.length <= 1000 },
};

const CURSOR_VERSION = 1;

/**
 * Why the cursor carries a checksum and a filter tag: a client must treat it as opaque, and
 * one that was cut short, edited, taken from another list or sent with other filters is
 * refused (400) instead of answering a wrong page. It is not a secret: it only names a
 * position among rows the same request may read anyway, so forging one gains nothing.
 */
function checksum(body: string): string {
  return createHash('sha256').update(`duality-cursor\0${body}`).digest('base64url').slice(0, 16);
}

/** Filters as a stable string: keys sorted, unset ones left out. */
function filterTag(filters: Record<string, unknown>): string {
  const normal = Object.keys(filters)
    .filter((k) => filters[k] !== undefined && filters[k] !== null && filters[k] !== '')
    .sort()
    .map((k) => [k, filters[k]]);
  return createHash('sha256').update(JSON.stringify(normal)).digest('base64url').slice(0, 12);
}

export function encodeCursor(list: ListDefinition, filters: Record<string, unknown>, keys: string[]): string {
  const body = Buffer.from(JSON.stringify([CURSOR_VERSION, list.name, filterTag(filters), ...keys])).toString('base64url');
  return `${body}.${checksum(body)}`;
}

function badCursor(message: string): ValidationError {
  return new ValidationError(message, [{ path: ['cursor'], message, code: 'invalid_cursor' }]);
}

/** The key values a cursor holds, after checking it belongs to this list and these filters. */
export function decodeCursor(list: ListDefinition, filters: Record<string, unknown>, cursor: string): string[] {
  const [body, sum, extra] = cursor.split('.');
  if (!body || !sum || extra !== undefined || checksum(body) !== sum) {
    throw badCursor('Invalid cursor: pass back nextCursor exactly as a previous page returned it');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed[0] !== CURSOR_VERSION) throw badCursor('Invalid cursor: pass back nextCursor exactly as a previous page returned it');
  const [, name, tag, ...keys] = parsed as unknown[];
  if (name !== list.name) throw badCursor('This cursor belongs to another list');
  if (tag !== filterTag(filters)) throw badCursor('This cursor was made with other filters: repeat the filters of the first page, or start again without cursor');
  if (keys.length !== list.keys.length || !list.keys.every((k, i) => keySql[k.type].valid(keys[i]))) {
    throw badCursor('Invalid cursor: pass back nextCursor exactly as a previous page returned it');
  }
  return keys as string[];
}

/** Refuses page numbers past the depth they may reach, and `page` with `cursor`. */
function checkPageQuery(query: ListQuery): void {
  if (query.cursor !== undefined && query.page !== undefined) {
    const message = 'Send either cursor or page, not both';
    throw new ValidationError(message, [{ path: ['page'], message, code: 'page_with_cursor' }]);
  }
  if (query.page !== undefined && query.page * query.size > MAX_PAGE_DEPTH) {
    throw new ValidationError(DEPTH_MESSAGE, [{ path: ['page'], message: DEPTH_MESSAGE, code: 'page_too_deep' }]);
  }
}

/**
 * Runs a filtered query as one page of `list`. `filtered` carries the list's filters (its
 * WHERE clauses, nothing else); `filters` are the same filters as input values, to which
 * cursors are bound.
 *
 * The page is found first as ids only (a subquery an index can often answer alone, e.g. a
 * price filter from `INCLUDE (price)`), then its rows are read by id: a filtered page reads
 * only the rows it returns. Without
 * a cursor, the matches are counted up to COUNT_CAP beside it.
 */
export async function fetchPage<M extends Model>(
  list: ListDefinition,
  filtered: QueryBuilder<M, M[]>,
  query: ListQuery,
  filters: Record<string, unknown>,
): Promise<Page<M>> {
  checkPageQuery(query);
  const after = query.cursor === undefined ? undefined : decodeCursor(list, filters, query.cursor);
  const page = after ? null : (query.page ?? 1);
  const t = list.table;
  const dir = list.direction;
  const M = filtered.modelClass();
  const knex = filtered.knex();

  // The filters are compiled by knex once, then the two statements are put together as text
  // around them: building them with the query builder cost more CPU than running them.
  const compiled = filtered.clone().clearSelect().clearOrder().select(M.raw('1')).toKnexQuery().toSQL();
  const fromWhere = compiled.sql.replace(/^select 1 /, '');
  const filterBindings = [...compiled.bindings] as Knex.RawBinding[];
  const hasWhere = / where /.test(fromWhere);
  const qualified = list.keys.map((k) => `"${t}"."${k.column}"`);
  const order = `order by ${qualified.map((c) => `${c} ${dir}`).join(', ')}`;

  let keysSql = `select "${t}"."id" AS pk ${fromWhere}`;
  const keysBindings = [...filterBindings];
  if (after) {
    keysSql += ` ${hasWhere ? 'and' : 'where'} (${qualified.join(', ')}) ${dir === 'desc' ? '<' : '>'} (${list.keys.map((k) => keySql[k.type].cast).join(', ')})`;
    keysBindings.push(...after);
  }
  keysSql += ` ${order} limit ?`;
  keysBindings.push(query.size + 1);
  if (page !== null && page > 1) {
    keysSql += ' offset ?';
    keysBindings.push((page - 1) * query.size);
  }
  // The cursor keys are rendered for the page's rows only (to_char is not free), outside the subquery.
  const keyColumns = list.keys.map((k, i) => `${keySql[k.type].select.replace('??', qualified[i]!)} AS ck${i}`).join(', ');
  const rowsSql = `select "${t}".*, ${keyColumns} from "${t}" inner join (${keysSql}) as "page" on "${t}"."id" = "page"."pk" ${order}`;
  const countSql = `select count(*) as "n" from (select 1 ${fromWhere} limit ?) as "matches"`;

  // Named statements (server/db/statements.ts): a list's texts vary only with which filters are set.
  const [found, counted] = await Promise.all([
    runStatement(knex, positional(rowsSql), keysBindings),
    page === null ? undefined : runStatement<{ n: string }>(knex, positional(countSql), [...filterBindings, COUNT_CAP + 1]),
  ]);
  // A raw result is not column-mapped by knex (a query builder's is): map it the same way.
  const mapRows = (knex.client.config as Knex.Config).postProcessResponse;
  const mapped = (mapRows ? mapRows(found.rows, undefined) : found.rows) as Record<string, unknown>[];
  const rows = mapped.map((row) => M.fromDatabaseJson(row) as M);
  const hasMore = rows.length > query.size;
  const items = rows.slice(0, query.size);
  const last = items[items.length - 1] as unknown as Record<string, string> | undefined;
  const nextCursor = hasMore && last ? encodeCursor(list, filters, list.keys.map((_, i) => last[`ck${i}`]!)) : null;
  for (const row of items as unknown as Record<string, unknown>[]) for (let i = 0; i < list.keys.length; i++) delete row[`ck${i}`];

  if (page === null) return { items, size: query.size, nextCursor, page: null, total: null, totalExact: false, pages: null };
  const n = Number(counted?.rows[0]?.n ?? 0);
  const totalExact = n <= COUNT_CAP;
  const total = Math.min(n, COUNT_CAP);
  return { items, size: query.size, nextCursor, page, total, totalExact, pages: Math.ceil(total / query.size) };
}
