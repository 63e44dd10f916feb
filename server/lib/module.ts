import type { AnyTRPCRouter } from '@trpc/server';
import type { EventCatalog } from '../events/catalog.ts';
import type { Subscriber } from '../events/bus.ts';
import type { PlainRoute } from '../http/plain-route.ts';
import type { AnyTaskDefinition } from '../jobs/task.ts';
import type { Permission } from '../trpc/access.ts';
import { router as createRouter } from '../trpc/init.ts';

/**
 * How a module builds its services: one factory per service, each taking what it
 * needs (platform parts such as `db`, `events`, `jobs`, `config`, or other modules'
 * services) as a destructured parameter. The parameter's type is the service's
 * declared dependencies; the composition root checks at compile time that the app
 * provides them, and builds each service once, in dependency order.
 */
export type ServiceFactories = Record<string, (deps: any) => unknown>;

/** The services a module's factories build. */
export type ServicesOf<F extends ServiceFactories> = { [K in keyof F]: ReturnType<F[K]> };

/** What a router factory learns about the whole app besides its own services. */
export interface ModuleContext {
  /** Every permission of every module, in module-list order (for schemas that enumerate them). */
  permissions: readonly Permission[];
}

/**
 * One module's manifest: everything the app needs from `server/modules/<name>/`. The
 * module list (`server/modules/index.ts`) holds these, one line each, and the app's
 * router, services, event catalog, subscribers, tasks, permission catalog, plain routes
 * and OpenAPI document are all derived from it.
 *
 * Everything that runs code (router, subscribers, tasks, routes) is built by a
 * function of the services it uses: by default the module's own, or whatever its
 * parameter's type names (another module's service, a platform part), checked by the
 * composition root. So what each part uses is written where it is built.
 */
export interface ModuleManifest<
  TName extends string = string,
  F extends ServiceFactories = ServiceFactories,
  TRouter extends AnyTRPCRouter | undefined = AnyTRPCRouter | undefined,
  TEvents extends EventCatalog = EventCatalog,
  TNeeds = unknown,
> {
  /** The module's folder name; also its key in the root router (tRPC `<name>.*`). */
  readonly name: TName;
  readonly services: F;
  /** The module's procedures. */
  readonly router: ((deps: any, app: ModuleContext) => TRouter) | undefined;
  /** The events this module publishes (each schema lives with its publisher). */
  readonly events: TEvents;
  /** The permissions its procedures may require; grant them to `admin` in a migration. */
  readonly permissions: readonly Permission[];
  /** Who in this module listens to which event (its own or another module's). */
  readonly subscribers: (deps: any) => readonly Subscriber[];
  /** Its background tasks. */
  readonly tasks: (deps: any) => readonly AnyTaskDefinition[];
  /** REST routes that are not procedures (binary downloads). */
  readonly routes: (deps: any) => readonly PlainRoute[];
  /** Releases what its services hold (called once at shutdown, after HTTP and the worker stopped). */
  readonly close: (deps: any) => void | Promise<void>;
  /** Type only: what the parts above take from the app (checked by the composition root). */
  readonly needs?: TNeeds;
}

/** Any module, whatever it holds. */
export type AnyModule = ModuleManifest<string, any, AnyTRPCRouter | undefined, EventCatalog, any>;

/** Module names are camelCase or kebab-case words (the router key and the folder name). */
export const MODULE_NAME = /^[a-z][a-zA-Z0-9]*(-[a-z0-9]+)*$/;

/**
 * Declares a module. Only `name` is required; the types of everything else are
 * inferred, so the typed client knows every procedure and every event payload.
 * Each part's parameter defaults to the module's own services; annotate it to use
 * more (e.g. `router: ({ users, auth }: { users: UserService; auth: AuthService }) => ...`).
 *
 * @example
 * export const productsModule = defineModule({
 *   name: 'products',
 *   services: { products: ({ db, events }: { db: Knex; events: EventPublisher<ProductEvents> }) => new ProductService({ db, events }) },
 *   router: ({ products }) => productRouter({ products }),
 *   events: productEvents,
 *   permissions: Object.values(productPermissions),
 * });
 */
export function defineModule<
  const TName extends string,
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "no services": nothing to merge into the app's
  F extends ServiceFactories = {},
  TRouter extends AnyTRPCRouter | undefined = undefined,
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "no events"
  TEvents extends EventCatalog = {},
  DRouter = ServicesOf<F>,
  DSubscribers = ServicesOf<F>,
  DTasks = ServicesOf<F>,
  DRoutes = ServicesOf<F>,
  DClose = ServicesOf<F>,
>(manifest: {
  name: TName;
  services?: F;
  router?: (deps: DRouter, app: ModuleContext) => TRouter;
  events?: TEvents;
  permissions?: readonly Permission[];
  subscribers?: (deps: DSubscribers) => readonly Subscriber[];
  tasks?: (deps: DTasks) => readonly AnyTaskDefinition[];
  routes?: (deps: DRoutes) => readonly PlainRoute[];
  close?: (deps: DClose) => void | Promise<void>;
}): ModuleManifest<TName, F, TRouter, TEvents, DRouter & DSubscribers & DTasks & DRoutes & DClose> {
  if (!MODULE_NAME.test(manifest.name)) throw new Error(`Module name "${manifest.name}" must be camelCase or kebab-case, e.g. products or order-lines`);
  return {
    name: manifest.name,
    services: manifest.services ?? ({} as F),
    router: manifest.router,
    events: manifest.events ?? ({} as TEvents),
    permissions: manifest.permissions ?? [],
    subscribers: manifest.subscribers ?? (() => []),
    tasks: manifest.tasks ?? (() => []),
    routes: manifest.routes ?? (() => []),
    close: manifest.close ?? (() => {}),
  };
}

// ---- what the composition root derives from the module list -------------------------

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Every service of every module, by name. */
export type AllServices<M extends readonly AnyModule[]> = Simplify<UnionToIntersection<{ [I in keyof M]: ServicesOf<M[I]['services']> }[number]>>;

/** The app's event catalog: every module's events. */
export type AllEvents<M extends readonly AnyModule[]> = Simplify<UnionToIntersection<{ [I in keyof M]: M[I]['events'] }[number]>>;

type RouterOf<X> = X extends ModuleManifest<string, any, infer R, any, any> ? R : never;

/** The root router's record: each module's router under its name. */
export type RouterRecord<M extends readonly AnyModule[]> = {
  [X in M[number] as RouterOf<X> extends AnyTRPCRouter ? X['name'] : never]: Exclude<RouterOf<X>, undefined>;
};

/** The root router built from a module list (what the typed client is typed by). */
export type RootRouter<M extends readonly AnyModule[]> = ReturnType<typeof createRouter<RouterRecord<M>>>;

type NeedsOf<X> = X extends ModuleManifest<string, any, any, any, infer N> ? N : never;

/**
 * `never` when everything each module takes from the app (its service factories'
 * parameters and its parts') is provided by `Platform` plus the modules' services;
 * otherwise, per unmet need, which module, which part, and the names nobody provides.
 */
export type UnmetNeeds<M extends readonly AnyModule[], Platform> = {
  [I in keyof M]:
    | {
        [K in keyof M[I]['services']]: Platform & AllServices<M> extends Parameters<M[I]['services'][K]>[0]
          ? never
          : { module: M[I]['name']; service: K; missing: Exclude<keyof Parameters<M[I]['services'][K]>[0], keyof (Platform & AllServices<M>)> };
      }[keyof M[I]['services']]
    | (Platform & AllServices<M> extends NeedsOf<M[I]> ? never : { module: M[I]['name']; parts: 'router, subscribers, tasks, routes or close'; missing: Exclude<keyof NeedsOf<M[I]>, keyof (Platform & AllServices<M>)> });
}[number];

/** Every permission of every module, in list order; a name declared twice is an error. */
export function permissionCatalog(modules: readonly AnyModule[]): Permission[] {
  const seen = new Map<string, string>();
  for (const m of modules) {
    for (const p of m.permissions) {
      if (seen.has(p)) throw new Error(`Permission ${p} is declared by both ${seen.get(p)} and ${m.name}`);
      seen.set(p, m.name);
    }
  }
  return modules.flatMap((m) => m.permissions);
}

/** Every module's events in one catalog; an event declared by two modules is an error. */
export function eventCatalog<M extends readonly AnyModule[]>(modules: M): AllEvents<M> {
  const catalog: EventCatalog = {};
  const owner = new Map<string, string>();
  for (const m of modules) {
    for (const [name, schema] of Object.entries(m.events)) {
      if (owner.has(name)) throw new Error(`Event ${name} is declared by both ${owner.get(name)} and ${m.name}`);
      owner.set(name, m.name);
      catalog[name] = schema;
    }
  }
  return catalog as AllEvents<M>;
}

/**
 * Builds every module's services on `platform`. Each factory is called once, when
 * first needed (so the list's order does not matter), with an object from which it
 * takes what it needs by name. A name nobody provides, a name provided twice and a
 * cycle are errors that say which services are involved.
 */
export function buildServices<M extends readonly AnyModule[], P extends object>(modules: M, platform: P): AllServices<M> {
  const factories = new Map<string, { module: string; make: (deps: unknown) => unknown }>();
  for (const m of modules) {
    for (const [name, make] of Object.entries(m.services as ServiceFactories)) {
      if (Object.hasOwn(platform, name)) throw new Error(`Module ${m.name} declares a service "${name}", which is a platform part`);
      const other = factories.get(name);
      if (other) throw new Error(`Service "${name}" is declared by both ${other.module} and ${m.name}`);
      factories.set(name, { module: m.name, make });
    }
  }
  const built = new Map<string, unknown>();
  const building: string[] = [];
  const resolve = (name: string): unknown => {
    if (Object.hasOwn(platform, name)) return (platform as Record<string, unknown>)[name];
    if (built.has(name)) return built.get(name);
    const factory = factories.get(name);
    if (!factory) throw new Error(`No module provides "${name}"${building.length ? ` (needed by ${building.at(-1)})` : ''}`);
    if (building.includes(name)) throw new Error(`Services depend on each other in a cycle: ${[...building.slice(building.indexOf(name)), name].join(' → ')}`);
    building.push(name);
    try {
      built.set(name, factory.make(deps));
    } finally {
      building.pop();
    }
    return built.get(name);
  };
  // Factories destructure their parameter, so this is read only while building.
  const deps = new Proxy({}, { get: (_target, name) => (typeof name === 'string' ? resolve(name) : undefined) });
  for (const name of factories.keys()) resolve(name);
  return Object.fromEntries(built) as AllServices<M>;
}

/**
 * The root router: each module's router under its name, in list order. `deps` is
 * what the routers take their services from (the platform parts and every service).
 */
export function buildRootRouter<M extends readonly AnyModule[]>(modules: M, deps: object): RootRouter<M> {
  const app: ModuleContext = { permissions: permissionCatalog(modules) };
  const record: Record<string, AnyTRPCRouter> = {};
  for (const m of modules) {
    const r = m.router?.(deps, app);
    if (r) record[m.name] = r;
  }
  return createRouter(record) as unknown as RootRouter<M>;
}

/** Every module's subscribers, tasks, plain routes and close hooks, built from `deps`. */
export function moduleParts(modules: readonly AnyModule[], deps: object) {
  return {
    subscribers: modules.flatMap((m) => m.subscribers(deps)),
    tasks: modules.flatMap((m) => m.tasks(deps)),
    routes: modules.flatMap((m) => m.routes(deps)),
    close: () => Promise.all(modules.map((m) => m.close(deps))).then(() => undefined),
  };
}
