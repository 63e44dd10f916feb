import type { Knex } from 'knex';

/**
 * Roles and what they may do. `admin` holds every permission; `member` (given to
 * every new user) holds none of the product writes.
 *
 * The permissions are spelled out here rather than imported from the catalog:
 * a migration must do the same thing on every database, whatever the catalog later
 * lists. A later permission gets its own migration (see docs/accounts.md, "Adding a permission").
 */
const SEEDED_ADMIN_PERMISSIONS = ['products:create', 'products:update', 'products:delete', 'users:manage'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('roles', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('name', 50).notNullable().unique();
    t.text('description').notNullable().defaultTo('');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('role_permissions', (t) => {
    t.uuid('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.string('permission', 100).notNullable();
    t.primary(['role_id', 'permission']);
  });
  await knex.raw(`ALTER TABLE role_permissions ADD CONSTRAINT role_permissions_permission_format
    CHECK (permission ~ '^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$')`);
  await knex.schema.createTable('user_roles', (t) => {
    t.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.uuid('role_id').notNullable().references('id').inTable('roles').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'role_id']);
    t.index(['role_id'], 'user_roles_role_id');
  });

  await knex('roles').insert([
    { name: 'admin', description: 'Every permission' },
    { name: 'member', description: 'Every signed-up user; no product writes' },
  ]);
  const admin = await knex('roles').where({ name: 'admin' }).first('id');
  await knex('role_permissions').insert(SEEDED_ADMIN_PERMISSIONS.map((permission) => ({ role_id: admin.id, permission })));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_roles');
  await knex.schema.dropTable('role_permissions');
  await knex.schema.dropTable('roles');
}
