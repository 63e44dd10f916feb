import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';

/** A row of `users`. `passwordHash` never leaves the server: see `$formatJson` and toUserDto. */
export class User extends Model {
  static override tableName = 'users';

  // #region fields
  id!: string;
  email!: string;
  name!: string;
  passwordHash!: string;
  isActive!: boolean;
  /** E.164-like (`+` and 7–15 digits), or null when the user has given none. */
  phone!: string | null;
  /** Touched after `users.me` responds (best effort); null until the first visit. */
  lastSeenAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<User>()(['id', 'email', 'name', 'passwordHash', 'isActive', 'phone', 'lastSeenAt', 'createdAt', 'updatedAt']);
  // #endregion fields

  /** Defence in depth: a User serialised by mistake still carries no hash. */
  override $formatJson(json: Record<string, unknown>) {
    const { passwordHash: _hidden, ...rest } = super.$formatJson(json);
    return rest;
  }

  static override modifiers = {
    /** Case-insensitive match, using the same expression as the unique index. */
    byEmail(query: QueryBuilder<User>, email: string) {
      void query.whereRaw('lower(email) = lower(?)', [email.trim()]);
    },
    nameOrEmailContains(query: QueryBuilder<User>, term: string) {
      const literal = term.replace(/[\\%_]/g, (c) => `\\${c}`);
      void query.where((q) =>
        q.whereRaw(`name ILIKE '%' || ? || '%' ESCAPE '\\'`, [literal]).orWhereRaw(`email ILIKE '%' || ? || '%' ESCAPE '\\'`, [literal]),
      );
    },
    /** Oldest first; the id breaks ties so pages never repeat or skip a row. */
    oldestFirst(query: QueryBuilder<User>) {
      void query.orderBy([
        { column: 'createdAt', order: 'asc' },
        { column: 'id', order: 'asc' },
      ]);
    },
  };
}
