import { Model } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';

/** A row of `roles`: a named set of permissions. */
export class Role extends Model {
  static override tableName = 'roles';

  id!: string;
  name!: string;
  description!: string;
  createdAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<Role>()(['id', 'name', 'description', 'createdAt']);
}

/** A row of `role_permissions`: one permission a role holds. */
export class RolePermission extends Model {
  static override tableName = 'role_permissions';
  static override idColumn = ['roleId', 'permission'];

  roleId!: string;
  permission!: string;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<RolePermission>()(['roleId', 'permission']);
}

/** A row of `user_roles`: one role a user has. */
export class UserRole extends Model {
  static override tableName = 'user_roles';
  static override idColumn = ['userId', 'roleId'];

  userId!: string;
  roleId!: string;
  createdAt!: Date;

  /** The columns above, for `npm run db:check` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<UserRole>()(['userId', 'roleId', 'createdAt']);
}
