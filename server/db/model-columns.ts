import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { knexSnakeCaseMappers, Model } from 'objection';

/** The data properties of a model instance: its own fields, not Objection's members or methods. */
export type ModelFields<M extends Model> = {
  [K in Exclude<keyof M, keyof Model>]: M[K] extends (...args: any[]) => unknown ? never : K;
}[Exclude<keyof M, keyof Model>];

/**
 * Declares, at run time, the columns a model maps (its class fields only exist for
 * the compiler). The compiler checks the list against the fields both ways: a
 * field missing from the list, or a name that is no field, does not compile.
 * `npm run db:check` then checks every listed column against the schema.
 *
 * Fields that are not columns (relations, computed values) go in `Except`.
 *
 * ```ts
 * static readonly columns = modelColumns<Product>()(['id', 'name', 'price', 'isActive', 'createdAt', 'updatedAt']);
 * ```
 */
export function modelColumns<M extends Model, Except extends ModelFields<M> = never>() {
  type Columns = Exclude<ModelFields<M>, Except>;
  return <const C extends readonly Columns[]>(
    columns: C & ([Exclude<Columns, C[number]>] extends [never] ? unknown : { missingColumns: Exclude<Columns, C[number]> }),
  ): C => columns;
}

const MODULES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../modules');

/** A model found under server/modules, with its table and the columns it declares (snake_case). */
export interface ModelInfo {
  name: string;
  file: string;
  table: string;
  /** undefined when the model does not declare `static columns`. */
  columns: string[] | undefined;
}

const { wrapIdentifier } = knexSnakeCaseMappers();
/** The column name the app's knex sends for a model property. */
export const columnName = (property: string): string => wrapIdentifier(property, (x: string) => x) as string;

/** Every Objection model exported by a `*.model.ts` file under server/modules. */
export async function findModels(dir = MODULES_DIR): Promise<ModelInfo[]> {
  const files = (await fs.readdir(dir, { recursive: true })).filter((f) => f.endsWith('.model.ts')).sort();
  const models: ModelInfo[] = [];
  for (const file of files) {
    const exports = (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(exports)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Model)) continue;
      const model = value as typeof Model & { columns?: readonly string[] };
      if (!model.tableName) continue;
      models.push({
        name: model.name,
        file: path.relative(process.cwd(), path.join(dir, file)),
        table: model.tableName,
        columns: Array.isArray(model.columns) ? model.columns.map(columnName) : undefined,
      });
    }
  }
  return models;
}
