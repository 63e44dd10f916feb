import type { Knex } from 'knex';

/**
 * A `version` on every row a client reads one at a time (products, users, reports),
 * for ETags and If-Match (docs/retries.md). Triggers own it, so it moves on every
 * change whoever writes (a request, a job, psql), and never backwards:
 * - an UPDATE that changes a column (other than the listed bookkeeping ones) adds 1;
 * - an UPDATE that sets `version` itself, to anything, also adds exactly 1 (how the
 *   role triggers below say "this user's representation changed");
 * - an UPDATE that changes nothing keeps the version.
 * A user's representation includes their roles and permissions, so changing
 * `user_roles` or a role's `role_permissions` moves the users concerned.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION bump_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.version IS DISTINCT FROM OLD.version
         OR (to_jsonb(NEW) - TG_ARGV) IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV) THEN
        NEW.version := OLD.version + 1;
      END IF;
      RETURN NEW;
    END;
    $$`);
  for (const table of ['products', 'users', 'reports']) {
    await knex.schema.alterTable(table, (t) => {
      t.integer('version').notNullable().defaultTo(1);
    });
  }
  await knex.raw(`CREATE TRIGGER products_bump_version BEFORE UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION bump_row_version('version', 'updated_at')`);
  await knex.raw(`CREATE TRIGGER users_bump_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_row_version('version', 'updated_at', 'last_seen_at')`);
  await knex.raw(`CREATE TRIGGER reports_bump_version BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION bump_row_version('version')`);

  await knex.raw(`
    CREATE FUNCTION user_roles_bump_user_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE users SET version = version + 1 WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
      RETURN NULL;
    END;
    $$`);
  await knex.raw(`CREATE TRIGGER user_roles_bump_user_version AFTER INSERT OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION user_roles_bump_user_version()`);
  await knex.raw(`
    CREATE FUNCTION role_permissions_bump_user_versions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE users SET version = version + 1
       WHERE id IN (SELECT user_id FROM user_roles WHERE role_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.role_id ELSE NEW.role_id END);
      RETURN NULL;
    END;
    $$`);
  await knex.raw(`CREATE TRIGGER role_permissions_bump_user_versions AFTER INSERT OR DELETE ON role_permissions
    FOR EACH ROW EXECUTE FUNCTION role_permissions_bump_user_versions()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER role_permissions_bump_user_versions ON role_permissions');
  await knex.raw('DROP FUNCTION role_permissions_bump_user_versions()');
  await knex.raw('DROP TRIGGER user_roles_bump_user_version ON user_roles');
  await knex.raw('DROP FUNCTION user_roles_bump_user_version()');
  for (const table of ['products', 'users', 'reports']) {
    await knex.raw(`DROP TRIGGER ${table}_bump_version ON ${table}`);
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('version');
    });
  }
  await knex.raw('DROP FUNCTION bump_row_version()');
}
