import { Model, type QueryBuilder } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';
import { defineList } from '../../lib/pagination.ts';
import { searchCondition } from '../../lib/text-search.ts';

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
  /** When the owner proved the address is theirs (the mailed code, or a password reset); null until then. */
  emailVerifiedAt!: Date | null;
  /** Touched after `users.me` responds (best effort); null until the first visit. */
  lastSeenAt!: Date | null;
  /** Moves on every change to the account or its roles (triggers own it); not on a visit. */
  version!: number;
  createdAt!: Date;
  updatedAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<User>()(['id', 'email', 'name', 'passwordHash', 'isActive', 'phone', 'emailVerifiedAt', 'lastSeenAt', 'version', 'createdAt', 'updatedAt']);
  // #endregion fields

  /** Defence in depth: a User serialised by mistake still carries no hash. */
  override $formatJson(json: Record<string, unknown>) {
    const { passwordHash: _hidden, ...rest } = super.$formatJson(json);
    return rest;
  }

  /** `users.list`: every account, oldest first (index `users_oldest`; search: `users_name_trgm`, `users_email_trgm`). */
  static readonly list = defineList({
    name: 'users.list',
    table: 'users',
    direction: 'asc',
    keys: [
      { column: 'created_at', type: 'timestamptz' },
      { column: 'id', type: 'uuid' },
    ],
  });

  static override modifiers = {
    /** Case-insensitive match, using the same expression as the unique index. */
    byEmail(query: QueryBuilder<User>, email: string) {
      void query.whereRaw('lower(email) = lower(?)', [email.trim()]);
    },
    /** `search` semantics: lib/text-search.ts, on the name or the email. */
    nameOrEmailMatches(query: QueryBuilder<User>, term: string) {
      void query.where((q) => q.whereRaw(...searchCondition('users.name', term)).orWhereRaw(...searchCondition('users.email', term)));
    },
  };
}
