import path from 'node:path';
import ts from 'typescript';

/**
 * The client package's `router.ts`: AppRouter re-declared as a plain tRPC router type
 * whose every procedure input, output and the error shape are spelled out
 * structurally. The real AppRouter's type reaches the whole server (Context holds a
 * FastifyRequest, routers are built from services, services from models and knex), so
 * a package that re-exported it would need the server's sources and dependencies to
 * type-check, and without them its types silently become `any`. This one needs only
 * `@trpc/server`, which `@trpc/client` requires as a peer anyway.
 *
 * What cannot be written with the default library and the peer packages' own exports
 * (a server interface, a Node type) is expanded into its members; what cannot be
 * expanded either (a class, a function type from the server) fails the build, naming
 * the procedure, rather than degrading to `any`.
 */

/** Packages the generated file may import types from (the package's peer dependencies). */
const PEER_PACKAGES = ['@trpc/server', '@trpc/client', 'superjson'];

const BUILDER_FLAGS = ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias | ts.NodeBuilderFlags.UseStructuralFallback;

export interface Procedure {
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  input: string;
  output: string;
}

export interface RouterDeclaration {
  /** The file's text. */
  source: string;
  procedures: Procedure[];
  /** The program it was read from, to reuse for the equivalence check. */
  program: ts.Program;
}

/** Compiler options of the repository (tsconfig.json) with emitting off. */
export function repoCompilerOptions(repoRoot: string): ts.CompilerOptions {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('cannot read tsconfig.json');
  return { ...parsed.options, noEmit: true };
}

/** Reads `AppRouter` as exported by `entry` (client/router.ts) and writes its standalone declaration. */
export function declareRouter(entry: string, options: ts.CompilerOptions): RouterDeclaration {
  const program = ts.createProgram([entry], options);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry);
  const moduleSymbol = file && checker.getSymbolAtLocation(file);
  const exported = moduleSymbol && checker.getExportsOfModule(moduleSymbol).find((s) => s.name === 'AppRouter');
  if (!exported) throw new Error(`${entry} does not export AppRouter`);
  const routerSymbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const router = checker.getDeclaredTypeOfSymbol(routerSymbol);

  const printer = new TypePrinter(program, checker);
  const member = (type: ts.Type, name: string): ts.Type => {
    const symbol = type.getProperty(name);
    if (!symbol) throw new Error(`AppRouter has no ${name} where tRPC puts one: is it still a tRPC router?`);
    return checker.getTypeOfSymbol(symbol);
  };
  const def = member(router, '_def');
  const rootTypes = member(member(def, '_config'), '$types');

  const procedures: Procedure[] = [];
  const record = (type: ts.Type, prefix: string, indent: string): string => {
    const lines: string[] = [];
    for (const prop of checker.getPropertiesOfType(type)) {
      const value = checker.getTypeOfSymbol(prop);
      const at = prefix + prop.name;
      const key = propertyName(prop.name);
      const procedureDef = value.getProperty('_def') && checker.getTypeOfSymbol(value.getProperty('_def')!);
      if (procedureDef?.getProperty('procedure')) {
        const kind = checker.typeToString(member(procedureDef, 'type')).replace(/"/g, '') as Procedure['type'];
        if (!['query', 'mutation', 'subscription'].includes(kind)) throw new Error(`${at}: unknown procedure type ${kind}`);
        const types = member(procedureDef, '$types');
        const input = printer.print(member(types, 'input'), `${at} (input)`);
        const output = printer.print(member(types, 'output'), `${at} (output)`);
        procedures.push({ path: at, type: kind, input, output });
        const generic = { query: 'TRPCQueryProcedure', mutation: 'TRPCMutationProcedure', subscription: 'TRPCSubscriptionProcedure' }[kind];
        lines.push(`${indent}${key}: ${generic}<{ input: ${input}; output: ${output}; meta: object }>;`);
      } else {
        lines.push(`${indent}${key}: {`, record(value, `${at}.`, indent + '  '), `${indent}};`);
      }
    }
    return lines.join('\n');
  };
  const body = record(member(def, 'record'), '', '    ');
  const errorShape = printer.print(member(rootTypes, 'errorShape'), 'the error shape');
  const transformer = printer.print(member(rootTypes, 'transformer'), 'the transformer flag');

  const imports = new Map<string, Set<string>>([['@trpc/server', new Set(['TRPCBuiltRouter', 'TRPCMutationProcedure', 'TRPCQueryProcedure', 'TRPCSubscriptionProcedure'])]]);
  for (const [pkg, names] of printer.imports) for (const n of names) (imports.get(pkg) ?? imports.set(pkg, new Set()).get(pkg)!).add(n);
  const source = [
    '// Generated by `npm run client:build` from the server\'s AppRouter (server/router.ts). Do not edit.',
    '// Every procedure\'s input and output spelled out, so the package needs none of the server\'s code.',
    ...[...imports].map(([pkg, names]) => `import type { ${[...names].sort().join(', ')} } from '${pkg}';`),
    '',
    '/** The error shape every procedure answers with: `error.data.code` is one of the documented codes. */',
    `export type AppErrorShape = ${errorShape};`,
    '',
    '/** The server\'s router type: what `createTRPCClient<AppRouter>` needs, and nothing of the server. */',
    'export type AppRouter = TRPCBuiltRouter<',
    `  { ctx: object; meta: object; errorShape: AppErrorShape; transformer: ${transformer} },`,
    '  {',
    body,
    '  }',
    '>;',
    '',
  ].join('\n');
  return { source, procedures, program };
}

function propertyName(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

class TypePrinter {
  readonly imports = new Map<string, Set<string>>();
  private readonly printer = ts.createPrinter({ removeComments: true });
  private readonly scratch = ts.createSourceFile('print.ts', '', ts.ScriptTarget.Latest);
  private readonly peerExports = new Map<ts.Symbol, { pkg: string; name: string }>();

  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;

  constructor(program: ts.Program, checker: ts.TypeChecker) {
    this.program = program;
    this.checker = checker;
    // What each peer package exports by name, to import a type from it rather than expand it.
    const importer = program.getRootFileNames()[0]!;
    for (const pkg of PEER_PACKAGES) {
      const resolved = ts.resolveModuleName(pkg, importer, program.getCompilerOptions(), ts.sys).resolvedModule;
      const sf = resolved && program.getSourceFile(resolved.resolvedFileName);
      const mod = sf && checker.getSymbolAtLocation(sf);
      if (!mod) continue;
      for (const e of checker.getExportsOfModule(mod)) {
        const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
        if (!this.peerExports.has(target)) this.peerExports.set(target, { pkg, name: e.name });
      }
    }
  }

  /** `type` as self-contained TypeScript: default-library and peer-package names only. */
  print(type: ts.Type, where: string, depth = 0): string {
    if (depth > 40) throw new Error(`${where}: type too deep to spell out (recursive?)`);
    const node = this.checker.typeToTypeNode(type, undefined, BUILDER_FLAGS);
    if (!node) throw new Error(`${where}: TypeScript cannot write this type`);
    const refs = this.references(node);
    if (refs.every((r) => r.kind !== 'foreign')) {
      for (const r of refs) if (r.kind === 'peer') (this.imports.get(r.pkg) ?? this.imports.set(r.pkg, new Set()).get(r.pkg)!).add(r.name);
      return this.printer.printNode(ts.EmitHint.Unspecified, node, this.scratch);
    }
    const next = (t: ts.Type) => this.print(t, where, depth + 1);
    if (type.isUnion()) return type.types.map((t) => wrap(next(t))).join(' | ');
    if (type.isIntersection()) return type.types.map((t) => wrap(next(t))).join(' & ');
    if (this.checker.isArrayType(type)) return `Array<${next(this.checker.getTypeArguments(type as ts.TypeReference)[0]!)}>`;
    const named = type.aliasSymbol ?? type.getSymbol();
    const typeArgs = type.aliasSymbol ? type.aliasTypeArguments : (type as ts.TypeReference).typeArguments;
    if (named && typeArgs?.length && this.isDefaultLibrary(named)) {
      return `${named.name}<${typeArgs.map(next).join(', ')}>`;
    }
    if (type.flags & ts.TypeFlags.Object && !(this.checker.isTupleType(type))) {
      if (type.getCallSignatures().length || type.getConstructSignatures().length) {
        throw new Error(`${where}: ${this.checker.typeToString(type)} is a function or class; the client's types cannot carry it`);
      }
      const members: string[] = [];
      for (const info of this.checker.getIndexInfosOfType(type)) {
        members.push(`${info.isReadonly ? 'readonly ' : ''}[key: ${next(info.keyType)}]: ${next(info.type)};`);
      }
      for (const prop of this.checker.getPropertiesOfType(type)) {
        const optional = prop.flags & ts.SymbolFlags.Optional ? '?' : '';
        const decl = prop.valueDeclaration ?? prop.declarations?.[0];
        const readonly = decl && ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly ? 'readonly ' : '';
        members.push(`${readonly}${propertyName(prop.name)}${optional}: ${next(this.checker.getTypeOfSymbol(prop))};`);
      }
      return `{ ${members.join(' ')} }`;
    }
    const names = refs.filter((r) => r.kind === 'foreign').map((r) => r.name);
    throw new Error(`${where}: ${this.checker.typeToString(type)} refers to ${names.join(', ')}, which the client package cannot name`);
  }

  private references(node: ts.Node): Reference[] {
    const found: Reference[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isImportTypeNode(n) || ts.isTypeQueryNode(n)) found.push({ kind: 'foreign', name: this.printer.printNode(ts.EmitHint.Unspecified, n, this.scratch) });
      else if (ts.isTypeReferenceNode(n)) {
        const id = ts.isIdentifier(n.typeName) ? n.typeName : n.typeName.right;
        const symbol = (id as ts.Identifier & { symbol?: ts.Symbol }).symbol;
        const name = ts.idText(id);
        if (!symbol) found.push({ kind: 'foreign', name });
        else if (this.isDefaultLibrary(symbol)) found.push({ kind: 'lib', name });
        else {
          const peer = this.peerExports.get(symbol);
          // An import under the exported name; a local rename would need `as`.
          found.push(peer && peer.name === name && ts.isIdentifier(n.typeName) ? { kind: 'peer', ...peer } : { kind: 'foreign', name });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(node);
    return found;
  }

  private isDefaultLibrary(symbol: ts.Symbol): boolean {
    const decls = symbol.declarations ?? [];
    return decls.length > 0 && decls.every((d) => this.program.isSourceFileDefaultLibrary(d.getSourceFile()));
  }
}

type Reference = { kind: 'lib'; name: string } | { kind: 'peer'; pkg: string; name: string } | { kind: 'foreign'; name: string };

function wrap(text: string): string {
  return /^[\w$."'[\]<>, -]+$/.test(text) && !text.includes('=>') ? text : `(${text})`;
}
