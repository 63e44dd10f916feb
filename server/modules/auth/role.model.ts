import { Model } from 'objection';

/** A row of `roles`: a named set of permissions. */
export class Role extends Model {
  static override tableName = 'roles';

  id!: string;
  name!: string;
  description!: string;
  createdAt!: Date;
}

/** A row of `role_permissions`: one permission a role holds. */
export class RolePermission extends Model {
  static override tableName = 'role_permissions';
  static override idColumn = ['roleId', 'permission'];

  roleId!: string;
  permission!: string;
}

/** A row of `user_roles`: one role a user has. */
export class UserRole extends Model {
  static override tableName = 'user_roles';
  static override idColumn = ['userId', 'roleId'];

  userId!: string;
  roleId!: string;
  createdAt!: Date;
}
