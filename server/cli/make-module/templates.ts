import type { ModuleNames } from './names.ts';

/**
 * The files of a new module, in the house style of server/modules/products. Each
 * template is the smallest complete example of its kind: the generated module
 * type-checks, lints, migrates and passes its tests as it is.
 */
export function moduleFiles(n: ModuleNames, stamps: { create: string; grant: string }): Record<string, string> {
  const dir = `server/modules/${n.kebab}`;
  const permission = `${n.kebab}:manage`;
  const event = `${n.entity}.created`;
  const idField = `${n.entityCamel}Id`;
  return {
    [`migrations/${stamps.create}_create_${n.snake}.ts`]: `import type { Knex } from 'knex';

/** ${n.Plural}: the table behind \`${n.camel}.*\` and /api/v1/${n.kebab}, with the index its list walks. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('${n.snake}', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.string('name', 200).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Moved by the trigger below on every change, whoever writes: the ETag and If-Match of docs/retries.md.
    t.integer('version').notNullable().defaultTo(1);
  });
  await knex.raw(\`CREATE TRIGGER ${n.snake}_set_updated_at BEFORE UPDATE ON ${n.snake}
    FOR EACH ROW EXECUTE FUNCTION set_updated_at()\`);
  await knex.raw(\`CREATE TRIGGER ${n.snake}_bump_version BEFORE UPDATE ON ${n.snake}
    FOR EACH ROW EXECUTE FUNCTION bump_row_version('version', 'updated_at')\`);
  await knex.raw('CREATE INDEX ${n.snake}_newest ON ${n.snake} (created_at DESC, id DESC)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('${n.snake}');
}
`,
    [`migrations/${stamps.grant}_grant_${n.snake}_manage.ts`]: `import type { Knex } from 'knex';
import { grantPermissions, revokePermissions } from '../server/modules/auth/permission.grants.ts';

/** \`${permission}\` (create, change and delete ${n.kebab}) for admins. */
export const up = (knex: Knex) => grantPermissions(knex, 'admin', ['${permission}']);
export const down = (knex: Knex) => revokePermissions(knex, 'admin', ['${permission}']);
`,
    [`${dir}/${n.entity}.model.ts`]: `import { Model } from 'objection';
import { modelColumns } from '../../db/model-columns.ts';
import { defineList } from '../../lib/pagination.ts';

/** A row of \`${n.snake}\`. */
export class ${n.Entity} extends Model {
  static override tableName = '${n.snake}';

  id!: string;
  name!: string;
  createdAt!: Date;
  updatedAt!: Date;
  /** Moves on every change (a trigger owns it): the ETag. */
  version!: number;

  /** The columns above, for \`npm run db:check\` (the compiler keeps the two lists equal). */
  static readonly columns = modelColumns<${n.Entity}>()(['id', 'name', 'createdAt', 'updatedAt', 'version']);

  /** \`${n.camel}.list\`: newest first, walked by the index \`${n.snake}_newest\`. */
  static readonly list = defineList({
    name: '${n.camel}.list',
    table: '${n.snake}',
    direction: 'desc',
    keys: [
      { column: 'created_at', type: 'timestamptz' },
      { column: 'id', type: 'uuid' },
    ],
  });
}
`,
    [`${dir}/${n.entity}.schemas.ts`]: `import { z } from 'zod';
import { listPageSchema, listQueryFields } from '../../lib/pagination.ts';
import { IfVersion, Version } from '../../lib/row-version.ts';

// \`pattern\`: what trim-then-min(1) means, as a document can say it (not only spaces).
const Name = z.string().trim().min(1).max(200).meta({ description: 'Name, 1–200 characters (surrounding spaces are removed)', example: 'First', pattern: '\\\\S' });

export const ${n.Entity}IdInput = z.object({ id: z.uuid() });

export const Create${n.Entity}Input = z.object({ name: Name });

export const Update${n.Entity}Input = z.object({ id: z.uuid(), name: Name, ifVersion: IfVersion });

export const Delete${n.Entity}Input = z.object({ id: z.uuid(), ifVersion: IfVersion });

export const List${n.Plural}Input = z.object({ ...listQueryFields });

export const ${n.Entity}Schema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    version: Version,
  })
  .meta({ id: '${n.Entity}' });

export const ${n.Entity}PageSchema = listPageSchema(${n.Entity}Schema, '${n.Entity}Page', '${n.kebab}');

export type Create${n.Entity}Input = z.output<typeof Create${n.Entity}Input>;
export type Update${n.Entity}Input = z.output<typeof Update${n.Entity}Input>;
export type Delete${n.Entity}Input = z.output<typeof Delete${n.Entity}Input>;
export type List${n.Plural}Input = z.output<typeof List${n.Plural}Input>;
export type ${n.Entity}Dto = z.output<typeof ${n.Entity}Schema>;
export type ${n.Entity}Page = z.output<typeof ${n.Entity}PageSchema>;
`,
    [`${dir}/${n.entity}.events.ts`]: `import { z } from 'zod';
import { defineEvents } from '../../events/catalog.ts';

/** What the ${n.kebab} module publishes. */
export const ${n.entityCamel}Events = defineEvents({
  /** A ${n.entity.replace(/-/g, ' ')} was created. */
  '${event}': z.object({
    ${idField}: z.uuid(),
    name: z.string(),
  }),
});

export type ${n.Entity}Events = typeof ${n.entityCamel}Events;
`,
    [`${dir}/${n.entity}.permissions.ts`]: `import { definePermission } from '../../trpc/access.ts';

/** What the ${n.kebab} module's procedures may require; granted to \`admin\` by a migration. */
export const ${n.entityCamel}Permissions = {
  manage: definePermission('${permission}'),
};
`,
    [`${dir}/${n.entity}.service.ts`]: `import type { Knex } from 'knex';
import { NotFoundError } from '../../errors.ts';
import type { EventPublisher } from '../../events/bus.ts';
import type { EventActor } from '../../events/envelope.ts';
import { statementsOf } from '../../db/statements.ts';
import { fetchPage } from '../../lib/pagination.ts';
import { conditionalWriteMissed } from '../../lib/row-version.ts';
import type { ${n.Entity}Events } from './${n.entity}.events.ts';
import { ${n.Entity} } from './${n.entity}.model.ts';
import type { Create${n.Entity}Input, Delete${n.Entity}Input, List${n.Plural}Input, ${n.Entity}Dto, ${n.Entity}Page, Update${n.Entity}Input } from './${n.entity}.schemas.ts';

/** The hot shapes (create, get) as named statements derived from the model; the query builder for the rest. */
const statements = statementsOf(${n.Entity});

/** ${n.Plural}: create (publishing \`${event}\` in the same transaction), read, list, change, delete. */
export class ${n.Entity}Service {
  constructor(private readonly deps: { db: Knex; events: EventPublisher<${n.Entity}Events> }) {}

  /** \`actor\` (who did it) travels in the event's envelope. */
  async create(input: Create${n.Entity}Input, actor?: EventActor): Promise<${n.Entity}Dto> {
    return this.deps.db.transaction(async (trx) => {
      const row = await statements.insert(trx, { name: input.name });
      await this.deps.events.publish(trx, '${event}', { ${idField}: row.id, name: row.name }, actor);
      return to${n.Entity}Dto(row);
    });
  }

  async get(id: string): Promise<${n.Entity}Dto> {
    const row = await statements.findById(this.deps.db, id);
    if (!row) throw new NotFoundError('${n.Entity}', id);
    return to${n.Entity}Dto(row);
  }

  /** Newest first, a page at a time (cursor or page number: lib/pagination.ts). */
  async list(query: List${n.Plural}Input): Promise<${n.Entity}Page> {
    const page = await fetchPage(${n.Entity}.list, ${n.Entity}.query(this.deps.db), query, {});
    return { ...page, items: page.items.map(to${n.Entity}Dto) };
  }

  /** With \`ifVersion\` (REST: If-Match) the write applies only to that version, checked by the UPDATE itself. */
  async update({ id, ifVersion, ...patch }: Update${n.Entity}Input): Promise<${n.Entity}Dto> {
    const row = await statements.patchById(this.deps.db, id, patch, ifVersion === undefined ? undefined : { version: ifVersion });
    if (!row) return this.missed(id, ifVersion);
    return to${n.Entity}Dto(row);
  }

  async delete({ id, ifVersion }: Delete${n.Entity}Input): Promise<void> {
    const write = ${n.Entity}.query(this.deps.db).where('id', id);
    if (ifVersion !== undefined) void write.where('version', ifVersion);
    if (!(await write.delete())) await this.missed(id, ifVersion);
  }

  /** A conditional write that matched no row: 404 if there is none, 412 naming the current version if it moved. */
  private async missed(id: string, ifVersion: number | undefined): Promise<never> {
    const current = ifVersion === undefined ? undefined : (await statements.findById(this.deps.db, id))?.version;
    return conditionalWriteMissed('${n.Entity}', id, current);
  }
}

export function to${n.Entity}Dto(row: ${n.Entity}): ${n.Entity}Dto {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString(), version: row.version };
}
`,
    [`${dir}/${n.entity}.router.ts`]: `import { z } from 'zod';
import { router } from '../../trpc/init.ts';
import { authedProcedure, requirePermission } from '../../trpc/procedures.ts';
import { ${n.entityCamel}Permissions } from './${n.entity}.permissions.ts';
import { Create${n.Entity}Input, Delete${n.Entity}Input, List${n.Plural}Input, ${n.Entity}IdInput, ${n.Entity}PageSchema, ${n.Entity}Schema, Update${n.Entity}Input } from './${n.entity}.schemas.ts';
import type { ${n.Entity}Service } from './${n.entity}.service.ts';

const tags = ['${n.kebab}'];

/** tRPC \`${n.camel}.*\` ⇄ REST \`/api/v1/${n.kebab}\`. Anyone signed in reads; \`${permission}\` writes. */
export const ${n.entityCamel}Router = ({ ${n.camel} }: { ${n.camel}: ${n.Entity}Service }) =>
  router({
    list: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/${n.kebab}', tags, summary: 'List ${n.kebab.replace(/-/g, ' ')}, newest first' } })
      .input(List${n.Plural}Input)
      .output(${n.Entity}PageSchema)
      .query(({ input }) => ${n.camel}.list(input)),

    get: authedProcedure
      .meta({ openapi: { method: 'GET', path: '/${n.kebab}/{id}', tags, summary: 'Get one' }, etag: true })
      .input(${n.Entity}IdInput)
      .output(${n.Entity}Schema)
      .query(({ input }) => ${n.camel}.get(input.id)),

    create: requirePermission(${n.entityCamel}Permissions.manage)
      .meta({ openapi: { method: 'POST', path: '/${n.kebab}', tags, summary: 'Create one' }, successStatus: 201 })
      .input(Create${n.Entity}Input)
      .output(${n.Entity}Schema)
      .mutation(({ ctx, input }) => ${n.camel}.create(input, ctx.actor)),

    update: requirePermission(${n.entityCamel}Permissions.manage)
      .meta({ openapi: { method: 'PATCH', path: '/${n.kebab}/{id}', tags, summary: 'Change one' }, etag: true, ifMatch: 'optional' })
      .input(Update${n.Entity}Input)
      .output(${n.Entity}Schema)
      .mutation(({ input }) => ${n.camel}.update(input)),

    delete: requirePermission(${n.entityCamel}Permissions.manage)
      .meta({ openapi: { method: 'DELETE', path: '/${n.kebab}/{id}', tags, summary: 'Delete one' }, successStatus: 204, ifMatch: 'optional' })
      .input(Delete${n.Entity}Input)
      .output(z.void())
      .mutation(({ input }) => ${n.camel}.delete(input)),
  });
`,
    [`${dir}/${n.entity}.module.ts`]: `import type { Knex } from 'knex';
import type { EventPublisher } from '../../events/bus.ts';
import { defineModule } from '../../lib/module.ts';
import { ${n.entityCamel}Events, type ${n.Entity}Events } from './${n.entity}.events.ts';
import { ${n.entityCamel}Permissions } from './${n.entity}.permissions.ts';
import { ${n.entityCamel}Router } from './${n.entity}.router.ts';
import { ${n.Entity}Service } from './${n.entity}.service.ts';

/** ${n.Plural}: CRUD with a cursor list, the \`${event}\` event and the \`${permission}\` permission. */
export const ${n.camel}Module = defineModule({
  name: '${n.camel}',
  services: {
    ${n.camel}: ({ db, events }: { db: Knex; events: EventPublisher<${n.Entity}Events> }) => new ${n.Entity}Service({ db, events }),
  },
  router: ${n.entityCamel}Router,
  events: ${n.entityCamel}Events,
  permissions: Object.values(${n.entityCamel}Permissions),
});
`,
    [`${dir}/${n.entity}.factory.ts`]: `import type { Knex } from 'knex';
import { ${n.Entity} } from './${n.entity}.model.ts';

let sequence = 0;

/** Test factory: inserts a row straight into the database; every field has a default. */
export async function make${n.Entity}(db: Knex, overrides: Partial<Pick<${n.Entity}, 'name' | 'createdAt'>> = {}): Promise<${n.Entity}> {
  sequence += 1;
  return ${n.Entity}.query(db)
    .insert({ name: \`${n.Entity} \${sequence}\`, ...overrides })
    .returning('*');
}
`,
    [`tests/${n.kebab}/${n.kebab}.test.ts`]: `import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { make${n.Entity} } from '../../server/modules/${n.kebab}/${n.entity}.factory.ts';
import { bearer, signedInUser } from '../helpers/auth.ts';
import { queuedJobs } from '../helpers/jobs.ts';
import { startTestApp, type RestResponse, type TestApp } from '../helpers/test-app.ts';

/** ${n.Plural} through both doors: REST (/api/v1/${n.kebab}) and the typed client (\`${n.camel}.*\`). */
let t: TestApp;
let admin: string;
let member: string;
beforeAll(async () => {
  t = await startTestApp();
  // Recorded, not handled: the worker is not started, so each delivery stays queued for the test to read.
  t.app.events.subscribe('${event}', 'test.${n.kebab}-created', async () => {});
  admin = (await signedInUser(t, { roles: ['admin'] })).token;
  member = (await signedInUser(t)).token;
});
afterAll(() => t.close());

describe('REST /api/v1/${n.kebab}', () => {
  it('creates (201), reads, lists, changes and deletes (204), then answers 404', async () => {
    const created = await t.rest('POST', '/${n.kebab}', { body: { name: '  First  ' }, headers: bearer(admin) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(String), name: 'First' });
    const id = created.body.id as string;

    expect((await t.rest('GET', \`/${n.kebab}/\${id}\`, { headers: bearer(member) })).body).toEqual(created.body);
    const list = await t.rest('GET', '/${n.kebab}?size=5', { headers: bearer(member) });
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(id);

    const changed = await t.rest('PATCH', \`/${n.kebab}/\${id}\`, { body: { name: 'Second' }, headers: bearer(admin) });
    expect(changed).toMatchObject({ status: 200, body: { id, name: 'Second' } });

    expect((await t.rest('DELETE', \`/${n.kebab}/\${id}\`, { headers: bearer(admin) })).status).toBe(204);
    expect((await t.rest('GET', \`/${n.kebab}/\${id}\`, { headers: bearer(member) })).body).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses an anonymous caller (401), a member without ${permission} (403) and a blank name (400)', async () => {
    expect((await t.rest('GET', '/${n.kebab}')).status).toBe(401);
    expect((await t.rest('POST', '/${n.kebab}', { body: { name: 'x' }, headers: bearer(member) })).status).toBe(403);
    const blank = await t.rest('POST', '/${n.kebab}', { body: { name: '   ' }, headers: bearer(admin) });
    expect(blank).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', issues: [expect.objectContaining({ path: ['name'] })] } });
  });

  it('pages newest first by cursor', async () => {
    const rows: { id: string }[] = [];
    for (let i = 0; i < 3; i++) rows.push(await make${n.Entity}(t.app.db, { createdAt: new Date(Date.UTC(2000, 0, 1, 0, 0, i)) }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: RestResponse<{ items: { id: string }[]; nextCursor: string | null }> = await t.rest('GET', \`/${n.kebab}?size=1\${cursor ? \`&cursor=\${encodeURIComponent(cursor)}\` : ''}\`, { headers: bearer(member) });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const ours = seen.filter((id) => rows.some((r) => r.id === id));
    expect(ours).toEqual(rows.map((r) => r.id).reverse());
  });
});

describe('conditional requests on /api/v1/${n.kebab}/{id}', () => {
  it('an ETag from the version, 304 on If-None-Match, and a stale If-Match is 412 that changes nothing', async () => {
    const row = await make${n.Entity}(t.app.db);
    const read = await t.rest('GET', \`/${n.kebab}/\${row.id}\`, { headers: bearer(member) });
    expect(read.headers.get('etag')).toBe('"1"');
    expect((await t.rest('GET', \`/${n.kebab}/\${row.id}\`, { headers: { ...bearer(member), 'if-none-match': '"1"' } })).status).toBe(304);

    const changed = await t.rest('PATCH', \`/${n.kebab}/\${row.id}\`, { body: { name: 'Edited' }, headers: { ...bearer(admin), 'if-match': '"1"' } });
    expect(changed).toMatchObject({ status: 200, body: { name: 'Edited', version: 2 } });
    expect(changed.headers.get('etag')).toBe('"2"');

    const stale = await t.rest('PATCH', \`/${n.kebab}/\${row.id}\`, { body: { name: 'Lost' }, headers: { ...bearer(admin), 'if-match': '"1"' } });
    expect(stale).toMatchObject({ status: 412, body: { code: 'PRECONDITION_FAILED' } });
    expect((await t.rest('DELETE', \`/${n.kebab}/\${row.id}\`, { headers: { ...bearer(admin), 'if-match': '"1"' } })).status).toBe(412);
    expect((await t.rest('GET', \`/${n.kebab}/\${row.id}\`, { headers: bearer(member) })).body.name).toBe('Edited');
    expect((await t.rest('DELETE', \`/${n.kebab}/\${row.id}\`, { headers: { ...bearer(admin), 'if-match': '"2"' } })).status).toBe(204);
  });
});

describe('typed client ${n.camel}.*', () => {
  it('creates and reads with typed input and output, and publishes ${event} in the same transaction', async () => {
    const before = (await queuedJobs(t.app.db, 'event:${event}:')).length;
    const made = await t.client(admin).${n.camel}.create.mutate({ name: 'Typed' });
    const read = await t.client(member).${n.camel}.get.query({ id: made.id });
    expect(read.name).toBe('Typed');
    expect((await queuedJobs(t.app.db, 'event:${event}:')).length).toBe(before + 1);
  });
});
`,
  };
}
