declare const permissionBrand: unique symbol;

/**
 * A permission a procedure may require, e.g. `products:create`. Made only by
 * `definePermission`, so `requirePermission('products:craete')` does not compile:
 * a module declares its permissions once (in `<entity>.permissions.ts`, listed in its
 * manifest) and refers to them by constant. The brand exists at compile time only;
 * at run time a permission is its name.
 */
export type Permission<Name extends string = string> = Name & { readonly [permissionBrand]: true };

/** `<resource>:<action>`, lowercase words joined by `-`. */
export const PERMISSION_NAME = /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/;

/** What a permission says besides its name. */
export interface PermissionOptions {
  /**
   * Holding it is not enough: the account must also have verified its email address
   * (403 EMAIL_NOT_VERIFIED otherwise). For actions that mail the account's address or
   * cost the app real work, so an address nobody owns cannot be used for them.
   */
  verifiedEmail?: boolean;
}

const needingVerifiedEmail = new Set<string>();

/**
 * Declares one permission. Grant it to `admin` in a migration (`grantPermissions`).
 * `{ verifiedEmail: true }` also requires a verified email address (see PermissionOptions).
 */
export function definePermission<const Name extends string>(name: Name, options: PermissionOptions = {}): Permission<Name> {
  if (!PERMISSION_NAME.test(name)) throw new Error(`Permission "${name}" must be <resource>:<action> in lowercase, e.g. products:create`);
  if (options.verifiedEmail) needingVerifiedEmail.add(name);
  return name as Permission<Name>;
}

/** Whether the permission was declared with `verifiedEmail: true`. */
export function needsVerifiedEmail(permission: Permission): boolean {
  return needingVerifiedEmail.has(permission);
}

/** Who may call a procedure or plain route. Every one states one (see procedures.ts). */
export type Access = { kind: 'public' } | { kind: 'signed-in' } | { kind: 'permission'; permission: Permission };

/**
 * The signed-in user behind a request, as procedures see it (`ctx.actor`). The auth
 * module produces it; the access builders read `permissions`.
 */
export interface Actor {
  userId: string;
  email: string;
  name: string;
  /** The session's public id (not its token, not its hash). */
  sessionId: string;
  /** Whether the account has verified its email address (permissions may require it). */
  emailVerified: boolean;
  /** Read from the database on every request, so a role change takes effect at once. */
  permissions: ReadonlySet<Permission>;
}
