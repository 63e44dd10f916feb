import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { Model } from 'objection';
import type pg from 'pg';
import { currentTimings } from '../observability/request-timings.ts';
import { fastPool, takeIdle, type IdleConnectionClient } from './idle-connection.ts';
import { columnName } from './model-columns.ts';

/**
 * Named (prepared) statements on knex's own pool, for the shapes every request runs.
 *
 * knex sends every query unnamed, so PostgreSQL parses and plans it on each call, and
 * the query builder, its runner and Objection's operations cost more CPU than the query
 * itself on a get-by-id (bench/cpu-profile.ts). Here a statement's text is fixed once and
 * sent with a name derived from it: each pooled connection prepares it on first use and
 * then only binds and executes.
 *
 * The connection comes from `db.client`: for the pool that is knex's tarn pool, for a
 * transaction (a service's `db.transaction`, or the request transaction that
 * `TransactionScope.db` follows) it is that transaction's connection, so the statement
 * joins it exactly as a builder query would. Each statement counts in the request's
 * timings like a knex query (the slow-request log line), and pg's OpenTelemetry
 * instrumentation sees it like any other.
 *
 * Keep the query builder for everything else: a statement is for a shape that runs often.
 */

/** Texts given a name so far; past the cap (a caller building texts from values by mistake) they run unnamed. */
const names = new Map<string, string>();
const MAX_NAMED = 500;

function nameOf(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `duality_${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}

interface KnexInternals {
  client: IdleConnectionClient;
  isTransaction?: boolean;
  isCompleted?: () => boolean;
}

/**
 * Runs `text` (with `$1`… placeholders) as a named statement on `db`'s pool or
 * transaction and returns pg's result (rows as PostgreSQL names the columns).
 * A failure carries the statement's text in its message, as knex's do (not the values).
 */
export async function runStatement<R extends object = Record<string, unknown>>(db: Knex, text: string, values: readonly unknown[]): Promise<pg.QueryResult<R>> {
  const k = db as unknown as KnexInternals;
  if (k.isTransaction && k.isCompleted?.()) throw new Error(`Transaction query already complete, run with DEBUG=knex:tx for more info - ${text}`);
  const client = k.client;
  const timings = currentTimings();
  const started = timings ? performance.now() : 0;
  const pool = k.isTransaction ? undefined : fastPool(client);
  const idle = pool && takeIdle(pool);
  const connection = idle ?? (await client.acquireConnection());
  try {
    const name = nameOf(text);
    return await connection.query<R>(name ? { name, text, values: values as unknown[] } : { text, values: values as unknown[] });
  } catch (error) {
    if (error instanceof Error) error.message = `${text} - ${error.message}`;
    throw error;
  } finally {
    if (idle) pool!.release(idle);
    else void client.releaseConnection(connection);
    if (timings) {
      timings.dbMs += performance.now() - started;
      timings.dbQueries += 1;
    }
  }
}

/** knex's `?` placeholders (as `toSQL()` leaves them) → PostgreSQL's `$n`; `\?` stays a literal `?`. */
export function positional(sql: string): string {
  let n = 0;
  return sql.replace(/\\\?|\?/g, (m) => (m === '?' ? `$${++n}` : '?'));
}

type ModelClass<M extends Model> = (new () => M) & typeof Model & { columns?: readonly string[] };
type Fields<M> = { [K in keyof M]?: M[K] };

/**
 * The hot statements of one model, derived from its metadata: `tableName`, `idColumn`
 * and the `columns` it declares (`modelColumns`), with the app's snake_case column
 * mapping. Rows come back through `fromDatabaseJson`, like the query builder's: the
 * same instances, the same pg type parsers (NUMERIC as a string, timestamps as Date).
 * Each distinct shape (which columns a write sets, which equalities a read adds) is
 * one text, prepared once per connection.
 */
export interface ModelStatements<M extends Model> {
  /** `SELECT <columns> WHERE id = $1 [AND col = $n …] [FOR UPDATE]`: undefined when no row matches. */
  findById(db: Knex, id: string | number, where?: Fields<M>, opts?: { forUpdate?: boolean }): Promise<M | undefined>;
  /** `INSERT … RETURNING <columns>`; undefined values are left to the column's default. */
  insert(db: Knex, values: Fields<M>): Promise<M>;
  /** `UPDATE … SET … WHERE id = $n [AND col = $m …] RETURNING <columns>`: undefined when no row matched. */
  patchById(db: Knex, id: string | number, patch: Fields<M>, where?: Fields<M>): Promise<M | undefined>;
}

/** Instance hooks a statement would skip: a model that overrides one keeps the query builder. */
const HOOKS = ['$afterFind', '$beforeInsert', '$afterInsert', '$beforeUpdate', '$afterUpdate', '$beforeValidate', '$afterValidate', '$formatDatabaseJson'] as const;

const compiled = new WeakMap<object, ModelStatements<Model>>();

/** The model's statements (built on first use, then shared). */
export function statementsOf<M extends Model>(model: ModelClass<M>): ModelStatements<M> {
  let statements = compiled.get(model);
  if (!statements) compiled.set(model, (statements = compile(model as ModelClass<Model>)));
  return statements as unknown as ModelStatements<M>;
}

function compile(model: ModelClass<Model>): ModelStatements<Model> {
  const properties = model.columns;
  if (!model.tableName || !Array.isArray(properties)) throw new Error(`${model.name}: statements need static tableName and columns (modelColumns)`);
  const idProperty = model.idColumn;
  if (typeof idProperty !== 'string') throw new Error(`${model.name}: statements need a single-column id`);
  for (const hook of HOOKS) {
    if ((model.prototype as unknown as Record<string, unknown>)[hook] !== (Model.prototype as unknown as Record<string, unknown>)[hook]) {
      throw new Error(`${model.name} overrides ${hook}, which a statement would skip: use the query builder for it`);
    }
  }
  if (model.jsonSchema) throw new Error(`${model.name} has a jsonSchema, which a statement would not validate: use the query builder for it`);

  const q = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
  const known = new Set(properties);
  const column = (property: string) => {
    if (!known.has(property)) throw new Error(`${model.name} has no column ${property}`);
    return q(columnName(property));
  };
  const table = q(model.tableName);
  // Aliased to the property names, so rows need no mapping before fromDatabaseJson.
  const returning = properties.map((p) => (columnName(p) === p ? q(p) : `${q(columnName(p))} AS ${q(p)}`)).join(', ');
  const idColumn = column(idProperty);
  const texts = new Map<string, string>();
  /** One text per shape: the same keys give the same cached string (and statement name). */
  const text = (kind: string, keys: string[], make: () => string) => {
    const key = `${kind}:${keys.join(',')}`;
    let t = texts.get(key);
    if (t === undefined) texts.set(key, (t = make()));
    return t;
  };
  const equalities = (keys: string[], from: number) => keys.map((k, i) => ` AND ${column(k)} = $${from + i}`).join('');
  const defined = (values: object | undefined) => (values ? Object.keys(values).filter((k) => (values as Record<string, unknown>)[k] !== undefined) : []);
  const row = (r: Record<string, unknown> | undefined) => (r ? model.fromDatabaseJson(r) : undefined);

  return {
    async findById(db, id, where, opts) {
      const keys = defined(where);
      const lock = opts?.forUpdate ? ' FOR UPDATE' : '';
      const sql = text(`find${lock}`, keys, () => `SELECT ${returning} FROM ${table} WHERE ${idColumn} = $1${equalities(keys, 2)}${lock}`);
      const values: unknown[] = [id];
      for (const k of keys) values.push((where as Record<string, unknown>)[k]);
      return row((await runStatement(db, sql, values)).rows[0]);
    },
    async insert(db, input) {
      const keys = defined(input);
      const sql = text('insert', keys, () =>
        keys.length ? `INSERT INTO ${table} (${keys.map(column).join(', ')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${returning}` : `INSERT INTO ${table} DEFAULT VALUES RETURNING ${returning}`,
      );
      return row((await runStatement(db, sql, keys.map((k) => (input as Record<string, unknown>)[k]))).rows[0])!;
    },
    async patchById(db, id, patch, where) {
      const keys = defined(patch);
      if (!keys.length) throw new Error(`${model.name}.patchById: nothing to change`);
      const filters = defined(where);
      const sql = text(`patch:${filters.join(',')}`, keys, () =>
        `UPDATE ${table} SET ${keys.map((k, i) => `${column(k)} = $${i + 1}`).join(', ')} WHERE ${idColumn} = $${keys.length + 1}${equalities(filters, keys.length + 2)} RETURNING ${returning}`,
      );
      const values: unknown[] = keys.map((k) => (patch as Record<string, unknown>)[k]);
      values.push(id);
      for (const k of filters) values.push((where as Record<string, unknown>)[k]);
      return row((await runStatement(db, sql, values)).rows[0]);
    },
  };
}
