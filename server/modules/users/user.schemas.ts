import { listPageSchema, listQueryFields } from '../../lib/pagination.ts';
import { searchTermSchema } from '../../lib/text-search.ts';
import { z } from 'zod';
import { IfVersion, Version } from '../../lib/row-version.ts';
import { text } from '../../lib/text.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/password.ts';

export const Email = text()
  .trim()
  .max(254)
  .pipe(z.email())
  // The input side of the pipe is what the document shows; say what the pipe then checks.
  .meta({ format: 'email', pattern: z.regexes.email.source, description: 'Email address; surrounding spaces are removed and case is ignored when comparing', example: 'ada@example.com' });
export const UserName = text()
  .trim()
  .min(1)
  .max(200)
  .meta({ description: 'Display name, 1–200 characters (surrounding spaces are removed)', example: 'Ada Lovelace', pattern: '\\S' });
/** The same rule as the users_phone_e164 CHECK in the database. */
export const Phone = text()
  .trim()
  .regex(/^\+[0-9]{7,15}$/, 'Must be + followed by 7–15 digits (E.164), e.g. +14155550123')
  .meta({ description: 'Phone number in E.164 form: + and 7–15 digits, no spaces', example: '+14155550123' });
export const Password = text()
  .min(PASSWORD_MIN_LENGTH)
  .max(PASSWORD_MAX_LENGTH)
  .meta({ description: `Password, ${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters`, example: 'correct horse battery staple' });
export const RoleName = text().trim().min(1).max(50).meta({ pattern: '\\S' });

export const NewUserInput = z.object({ email: Email, name: UserName, password: Password });

export const UserIdInput = z.object({ id: z.uuid() });

export const UpdateMeInput = z
  .object({
    name: UserName.optional(),
    phone: Phone.nullable().optional().meta({ description: 'A phone number to set, or null to remove it' }),
    ifVersion: IfVersion,
  })
  .refine((v) => v.name !== undefined || v.phone !== undefined, { message: 'Provide at least one of name, phone' })
  .meta({ minProperties: 1 });

export const ListUsersInput = z.object({
  ...listQueryFields,
  search: searchTermSchema('the name or the email'),
});

export const SetRolesInput = z.object({
  id: z.uuid(),
  roles: z.array(RoleName).max(20).meta({ description: "The user's roles after the call (replaces the current set). Each must be an existing role (400 otherwise).", example: ['member'] }),
});

export const UserSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    isActive: z.boolean(),
    emailVerified: z.boolean().meta({ description: 'Whether the owner has verified the address (some permissions need it: 403 EMAIL_NOT_VERIFIED)' }),
    phone: z.string().nullable().meta({ description: 'E.164 phone number, or null when none was given', example: '+14155550123' }),
    roles: z.array(z.string()).meta({ description: 'Role names, sorted' }),
    version: Version,
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });

/** The signed-in user's view of itself; `permissions` enumerates the app's permission catalog. */
export const currentUserSchema = (permissions: readonly string[]) =>
  UserSchema.extend({
    permissions: z.array(z.enum(permissions as [string, ...string[]])).meta({ description: 'Everything this user may do, through all roles, sorted' }),
  }).meta({ id: 'CurrentUser' });

export const UserPageSchema = listPageSchema(UserSchema, 'UserPage', 'users');

export type NewUserInput = z.output<typeof NewUserInput>;
export type ListUsersInput = z.output<typeof ListUsersInput>;
export type SetRolesInput = z.output<typeof SetRolesInput>;
export type UpdateMeInput = z.output<typeof UpdateMeInput>;
export type UserDto = z.output<typeof UserSchema>;
export type CurrentUserDto = z.output<ReturnType<typeof currentUserSchema>>;
export type UserPage = z.output<typeof UserPageSchema>;

export const SessionIdInput = z.object({ id: text().min(1).max(64).meta({ description: "A session's id, from users.sessions" }) });

export const SessionSchema = z
  .object({
    id: z.string().meta({ description: 'The session\'s public id (not its token): pass it to revoke the session' }),
    current: z.boolean().meta({ description: 'True for the session this request was made with' }),
    createdAt: z.iso.datetime().meta({ description: 'When it was started (sign-in)' }),
    lastUsedAt: z.iso.datetime().meta({ description: 'When it was last used, to within 5 minutes' }),
    expiresAt: z.iso.datetime().meta({ description: 'When it ends unless used again (never later than SESSION_MAX_AGE_DAYS after createdAt)' }),
    userAgent: z.string().nullable().meta({ description: 'The User-Agent of the sign-in, or null' }),
    ip: z.string().nullable().meta({ description: 'The client IP of the sign-in, or null' }),
  })
  .meta({ id: 'Session' });

export const SessionListSchema = z.object({ items: z.array(SessionSchema).meta({ description: 'Your live sessions, most recently used first' }) }).meta({ id: 'SessionList' });

export const RevokedSessionsSchema = z.object({ revoked: z.number().int().min(0).meta({ description: 'How many sessions were ended' }) }).meta({ id: 'RevokedSessions' });

export type SessionListDto = z.output<typeof SessionListSchema>;
