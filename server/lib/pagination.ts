import { hash } from 'node:crypto';
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

/** 2: one checksum binds the list, the filters and the position (1 hashed the filters apart). */
const CURSOR_VERSION = 2;
const INVALID = 'Invalid cursor: pass back nextCursor exactly as a previous page returned it';

/** Filters as a stable string: keys sorted, unset ones left out. */
function filterString(filters: Record<string, unknown>): string {
  const normal = Object.keys(filters)
    .filter((k) => filters[k] !== undefined && filters[k] !== null && filters[k] !== '')
    .sort()
    .map((k) => [k, filters[k]]);
  return JSON.stringify(normal);
}

/**
 * Why the cursor carries a checksum: a client must treat it as opaque, and one that was cut
 * short, edited, taken from another list or sent with other filters is refused (400)
 * instead of answering a wrong page. The checksum covers the body (list name, position) and
 * the exact filters of the request that made it, so one SHA-256 checks all three. It is not
 * a secret: a cursor only names a position among rows the same request may read anyway, so
 * forging one gains nothing.
 */
function checksum(filters: string, body: string): string {
  return hash('sha256', `duality-cursor\0${filters}\0${body}`, 'base64url').slice(0, 16);
}

/**
 * A short fingerprint of the filters (FNV-1a, 32 bits), kept in the body only to tell "other
 * filters" from "edited" once the checksum has failed; the checksum is what binds them.
 */
function filterTag(filters: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < filters.length; i++) h = Math.imul(h ^ filters.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

function encodeWith(list: ListDefinition, filters: string, keys: string[]): string {
  const body = Buffer.from(JSON.stringify([CURSOR_VERSION, list.name, filterTag(filters), ...keys])).toString('base64url');
  return `${body}.${checksum(filters, body)}`;
}

export function encodeCursor(list: ListDefinition, filters: Record<string, unknown>, keys: string[]): string {
  return encodeWith(list, filterString(filters), keys);
}

function badCursor(message: string): ValidationError {
  return new ValidationError(message, [{ path: ['cursor'], message, code: 'invalid_cursor' }]);
}

function decodeWith(list: ListDefinition, filters: string, cursor: string): string[] {
  const dot = cursor.indexOf('.');
  const body = cursor.slice(0, dot);
  const sum = cursor.slice(dot + 1);
  if (dot <= 0 || sum.length !== 16 || sum.includes('.')) throw badCursor(INVALID);
  const sound = checksum(filters, body) === sum;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed[0] !== CURSOR_VERSION) throw badCursor(INVALID);
  const [, name, tag, ...keys] = parsed as unknown[];
  // The name and tag are only read to word the refusal; a body that passed the checksum is
  // this server's, made with exactly these filters.
  if (name !== list.name) throw badCursor('This cursor belongs to another list');
  if (!sound && tag !== filterTag(filters)) throw badCursor('This cursor was made with other filters: repeat the filters of the first page, or start again without cursor');
  if (!sound || keys.length !== list.keys.length || !list.keys.every((k, i) => keySql[k.type].valid(keys[i]))) throw badCursor(INVALID);
  return keys as string[];
}

/** The key values a cursor holds, after checking it belongs to this list and these filters. */
export function decodeCursor(list: ListDefinition, filters: Record<string, unknown>, cursor: string): string[] {
  return decodeWith(list, filterString(filters), cursor);
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

/** The SQL texts of one page statement and its count, for one list, filter shape and kind of page. */
interface PageTexts {
  rows: string;
  count: string;
}

/**
 * Built texts by list, kind of page and the filters' compiled WHERE text (which holds no
 * values, only `?`): a list has a handful of shapes, each built once. Past the cap (texts
 * built from values by mistake) they are built per request and not kept.
 */
const pageTexts = new Map<string, PageTexts>();
const MAX_PAGE_TEXTS = 500;

function pageTextsFor(list: ListDefinition, fromWhere: string, kind: 'first' | 'offset' | 'cursor'): PageTexts {
  const cacheKey = `${list.name}\0${kind}\0${fromWhere}`;
  const cached = pageTexts.get(cacheKey);
  if (cached) return cached;
  const t = list.table;
  const dir = list.direction;
  const qualified = list.keys.map((k) => `"${t}"."${k.column}"`);
  const order = `order by ${qualified.map((c) => `${c} ${dir}`).join(', ')}`;
  let keysSql = `select "${t}"."id" AS pk ${fromWhere}`;
  if (kind === 'cursor') {
    keysSql += ` ${/ where /.test(fromWhere) ? 'and' : 'where'} (${qualified.join(', ')}) ${dir === 'desc' ? '<' : '>'} (${list.keys.map((k) => keySql[k.type].cast).join(', ')})`;
  }
  keysSql += ` ${order} limit ?`;
  if (kind === 'offset') keysSql += ' offset ?';
  // The cursor keys are rendered for the page's rows only (to_char is not free), outside the subquery.
  const keyColumns = list.keys.map((k, i) => `${keySql[k.type].select.replace('??', qualified[i]!)} AS ck${i}`).join(', ');
  const texts = {
    rows: positional(`select "${t}".*, ${keyColumns} from "${t}" inner join (${keysSql}) as "page" on "${t}"."id" = "page"."pk" ${order}`),
    count: positional(`select count(*) as "n" from (select 1 ${fromWhere} limit ?) as "matches"`),
  };
  if (pageTexts.size < MAX_PAGE_TEXTS) pageTexts.set(cacheKey, texts);
  return texts;
}

/**
 * The filters' `from … where …` and its bindings. A builder of WHERE clauses alone compiles
 * to `select "t".* from "t" where …`, taken as it is; one with its own select, order or
 * joins is cleared of them first (three clones: it costs twice the compile).
 */
function compileFilters<M extends Model>(filtered: QueryBuilder<M, M[]>, table: string): { fromWhere: string; bindings: Knex.RawBinding[] } {
  const plain = `select "${table}".* `;
  if (!filtered.has(/select|order|join/i)) {
    const { sql, bindings } = filtered.toKnexQuery().toSQL();
    if (sql.startsWith(plain)) return { fromWhere: sql.slice(plain.length), bindings: bindings as Knex.RawBinding[] };
  }
  const M = filtered.modelClass();
  const { sql, bindings } = filtered.clone().clearSelect().clearOrder().select(M.raw('1')).toKnexQuery().toSQL();
  return { fromWhere: sql.replace(/^select 1 /, ''), bindings: bindings as Knex.RawBinding[] };
}

/**
 * Runs a filtered query as one page of `list`. `filtered` carries the list's filters (its
 * WHERE clauses, nothing else); `filters` are the same filters as input values, to which
 * cursors are bound.
 *
 * The page is found first as ids only (a subquery an index can often answer alone, e.g. a
 * price filter from `INCLUDE (price)`), then its rows are read by id: a filtered page reads
 * only the rows it returns. Without a cursor, the matches are counted up to COUNT_CAP beside it.
 */
export async function fetchPage<M extends Model>(
  list: ListDefinition,
  filtered: QueryBuilder<M, M[]>,
  query: ListQuery,
  filters: Record<string, unknown>,
): Promise<Page<M>> {
  checkPageQuery(query);
  const filterText = filterString(filters);
  const after = query.cursor === undefined ? undefined : decodeWith(list, filterText, query.cursor);
  const page = after ? null : (query.page ?? 1);
  const M = filtered.modelClass();
  const knex = filtered.knex();

  // The filters are compiled by knex, then the two statements are put together as text
  // around them, once per filter shape: building them with the query builder cost more CPU
  // than running them.
  const { fromWhere, bindings: filterBindings } = compileFilters(filtered, list.table);
  const texts = pageTextsFor(list, fromWhere, after ? 'cursor' : page !== null && page > 1 ? 'offset' : 'first');
  const rowsBindings: Knex.RawBinding[] = after ? [...filterBindings, ...after, query.size + 1] : [...filterBindings, query.size + 1];
  if (page !== null && page > 1) rowsBindings.push((page - 1) * query.size);

  // Named statements (server/db/statements.ts): a list's texts vary only with which filters are set.
  const [found, counted] = await Promise.all([
    runStatement(knex, texts.rows, rowsBindings),
    page === null ? undefined : runStatement<{ n: string }>(knex, texts.count, [...filterBindings, COUNT_CAP + 1]),
  ]);
  // A raw result is not column-mapped by knex (a query builder's is): map it the same way.
  const mapRows = (knex.client.config as Knex.Config).postProcessResponse;
  const mapped = (mapRows ? mapRows(found.rows, undefined) : found.rows) as Record<string, unknown>[];
  const rows = mapped.map((row) => M.fromDatabaseJson(row) as M);
  const hasMore = rows.length > query.size;
  const items = rows.slice(0, query.size);
  const last = items[items.length - 1] as unknown as Record<string, string> | undefined;
  const nextCursor = hasMore && last ? encodeWith(list, filterText, list.keys.map((_, i) => last[`ck${i}`]!)) : null;
  for (const row of items as unknown as Record<string, unknown>[]) for (let i = 0; i < list.keys.length; i++) delete row[`ck${i}`];

  if (page === null) return { items, size: query.size, nextCursor, page: null, total: null, totalExact: false, pages: null };
  const n = Number(counted?.rows[0]?.n ?? 0);
  const totalExact = n <= COUNT_CAP;
  const total = Math.min(n, COUNT_CAP);
  return { items, size: query.size, nextCursor, page, total, totalExact, pages: Math.ceil(total / query.size) };
}
