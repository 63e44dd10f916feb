import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { declareRouter, repoCompilerOptions, type Procedure } from './router-declaration.ts';

const run = promisify(execFile);

/** The package's name; its version is always the server's (package.json), so a client pins the server it matches. */
export const CLIENT_PACKAGE_NAME = '@duality/client';

/** The client sources that go into the package (client/router.ts is replaced by the generated declaration). */
const SOURCES = ['index.ts', 'paginate.ts', 'rest.ts', 'rest-types.ts'];

/** Packages the client needs its user to install, with the ranges the server is built against. */
const PEERS = ['@trpc/client', '@trpc/server', 'superjson'];
const OPTIONAL_PEERS = ['openapi-fetch'];
// Any other package the compiled client imports (say, an EventSource for Node) becomes a
// plain dependency at the server's range: the frontend gets it with the package.

/** The packages a compiled file imports (bare specifiers, subpaths folded into their package). */
export function importedPackages(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"./][^'"]*)['"]/g)) {
    const spec = m[1]!;
    if (spec.startsWith('node:')) found.add(spec);
    else found.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
  }
  return [...found];
}

/**
 * How the package is compiled: the strictest settings a frontend uses today, so code
 * that passes here passes there, and no Node types (a browser has none).
 */
const PACKAGE_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  erasableSyntaxOnly: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  declaration: true,
  skipLibCheck: true,
  types: [],
};

export interface BuiltPackage {
  /** dist/client/package: what the tarball holds. */
  dir: string;
  /** The `npm pack` tarball, e.g. dist/duality-client-0.1.0.tgz. */
  tarball: string;
  version: string;
  procedures: Procedure[];
}

/**
 * `npm run client:build`: the typed client as an npm package in dist/client/package,
 * packed to dist/<name>-<version>.tgz. The router type is re-declared without the
 * server (router-declaration.ts) and checked to give every procedure the same input
 * and output as the server's own; the sources are compiled under a strict frontend
 * configuration. Any error fails the build.
 */
export async function buildClientPackage(
  repoRoot: string,
  opts: { log?: (line: string) => void; /** Default dist/; must lie inside the repository (its node_modules resolve the peers). */ distDir?: string } = {},
): Promise<BuiltPackage> {
  const log = opts.log ?? (() => {});
  const distDir = opts.distDir ?? path.join(repoRoot, 'dist');
  const clientDir = path.join(repoRoot, 'client');
  const outDir = path.join(distDir, 'client');
  const srcDir = path.join(outDir, 'src');
  const pkgDir = path.join(outDir, 'package');
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.mkdir(srcDir, { recursive: true });

  const repoOptions = repoCompilerOptions(repoRoot);
  const declaration = declareRouter(path.join(clientDir, 'router.ts'), repoOptions);
  log(`router: ${declaration.procedures.length} procedures declared`);
  // Relative imports are written `./x.ts` here (run by tsx); published, they name the `.js`
  // beside the `.d.ts`, as every consumer's resolution expects (declarations keep specifiers as written).
  for (const file of SOURCES) {
    const text = await fs.readFile(path.join(clientDir, file), 'utf8');
    await fs.writeFile(path.join(srcDir, file), text.replace(/(\bfrom\s+['"]\.\.?\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
  }
  await fs.writeFile(path.join(srcDir, 'router.ts'), declaration.source);

  await checkSameTypes(repoRoot, outDir, declaration.procedures, repoOptions, declaration.program);
  log('router: every input, output and the error shape match the server\'s');

  const program = ts.createProgram(
    SOURCES.concat('router.ts').map((f) => path.join(srcDir, f)),
    { ...PACKAGE_OPTIONS, rootDir: srcDir, outDir: pkgDir },
  );
  const emitted = program.emit();
  const diagnostics = ts.getPreEmitDiagnostics(program).concat(emitted.diagnostics);
  if (diagnostics.length) throw new Error(`the client does not compile under a strict frontend configuration:\n${formatDiagnostics(diagnostics, repoRoot)}`);

  const rootPackage = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
    description?: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const range = (name: string) => {
    const found = rootPackage.dependencies[name] ?? rootPackage.devDependencies[name];
    if (!found) throw new Error(`the client imports ${name}, which package.json does not list`);
    return found;
  };
  const imported = new Set<string>();
  for (const file of await fs.readdir(pkgDir)) {
    if (/\.(js|d\.ts)$/.test(file)) for (const p of importedPackages(await fs.readFile(path.join(pkgDir, file), 'utf8'))) imported.add(p);
  }
  const builtin = [...imported].filter((p) => p.startsWith('node:'));
  if (builtin.length) throw new Error(`the client imports ${builtin.join(', ')}, which a browser does not have`);
  const dependencies = [...imported].filter((p) => !PEERS.includes(p) && !OPTIONAL_PEERS.includes(p)).sort();
  const manifest = {
    name: CLIENT_PACKAGE_NAME,
    version: rootPackage.version,
    description: 'Typed clients for the Duality server of the same version: tRPC (AppRouter) and REST (OpenAPI types).',
    type: 'module',
    sideEffects: false,
    exports: {
      '.': { types: './index.d.ts', default: './index.js' },
      './rest': { types: './rest.d.ts', default: './rest.js' },
      './router': { types: './router.d.ts', default: './router.js' },
      './openapi.json': './openapi.json',
      './package.json': './package.json',
    },
    types: './index.d.ts',
    files: ['*.js', '*.d.ts', 'openapi.json', 'README.md'],
    ...(dependencies.length ? { dependencies: Object.fromEntries(dependencies.map((p) => [p, range(p)])) } : {}),
    peerDependencies: Object.fromEntries([...PEERS, ...OPTIONAL_PEERS].map((p) => [p, range(p)])),
    peerDependenciesMeta: Object.fromEntries(OPTIONAL_PEERS.map((p) => [p, { optional: true }])),
  };
  await fs.writeFile(path.join(pkgDir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  await fs.copyFile(path.join(clientDir, 'openapi.json'), path.join(pkgDir, 'openapi.json'));
  await fs.writeFile(
    path.join(pkgDir, 'README.md'),
    `# ${CLIENT_PACKAGE_NAME} ${rootPackage.version}\n\n` +
      `Typed clients for the Duality server ${rootPackage.version} (use the client of the server's version).\n\n` +
      "- `createClient({ url, token })` from `" + CLIENT_PACKAGE_NAME + "`: the tRPC client, typed by `AppRouter`; needs `@trpc/client`, `@trpc/server` and `superjson`.\n" +
      "- `createRestClient({ url, token })` from `" + CLIENT_PACKAGE_NAME + "/rest`: REST through `openapi-fetch`, typed by `paths` from the server's OpenAPI document (`" + CLIENT_PACKAGE_NAME + "/openapi.json`).\n\n" +
      'See docs/clients.md in the server repository.\n',
  );

  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', distDir], { cwd: pkgDir });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error('npm pack printed nothing');
  const tarball = path.join(distDir, packed.filename);
  log(`packed ${path.relative(repoRoot, tarball)}: ${packed.files.map((f) => f.path).sort().join(', ')}`);
  return { dir: pkgDir, tarball, version: rootPackage.version, procedures: declaration.procedures };
}

/**
 * Compiles, in the repository's program, an assertion per procedure that the generated
 * declaration's input and output are mutually assignable with the server's: a printer
 * fault cannot ship a client that disagrees with the server.
 */
async function checkSameTypes(repoRoot: string, outDir: string, procedures: Procedure[], options: ts.CompilerOptions, oldProgram: ts.Program): Promise<void> {
  const file = path.join(outDir, 'same-types.ts');
  const index = (p: string) => p.split('.').map((k) => `[${JSON.stringify(k)}]`).join('');
  const lines = [
    "import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';",
    `import type { AppRouter as Server } from ${JSON.stringify(path.relative(outDir, path.join(repoRoot, 'client/router.ts')))};`,
    "import type { AppRouter as Packed } from './src/router.ts';",
    'type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;',
    'type SI = inferRouterInputs<Server>; type PI = inferRouterInputs<Packed>;',
    'type SO = inferRouterOutputs<Server>; type PO = inferRouterOutputs<Packed>;',
    'export const errorShape: Same<inferRouterError<Server>, inferRouterError<Packed>> = true;',
    ...procedures.flatMap((p, i) => [
      `export const input${i}: Same<SI${index(p.path)}, PI${index(p.path)}> = true; // ${p.path}`,
      `export const output${i}: Same<SO${index(p.path)}, PO${index(p.path)}> = true; // ${p.path}`,
    ]),
    '',
  ];
  await fs.writeFile(file, lines.join('\n'));
  const program = ts.createProgram([...oldProgram.getRootFileNames(), file], options, undefined, oldProgram);
  const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
  if (diagnostics.length) {
    const wrong = diagnostics.map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      return lines[line]?.match(/(input|output)\d+.*\/\/ (.+)$/)?.slice(1).reverse().join(' ') ?? ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
    throw new Error(`the generated router declaration differs from the server's AppRouter at: ${wrong.join('; ')}`);
  }
}

export function formatDiagnostics(diagnostics: readonly ts.Diagnostic[], cwd: string): string {
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => cwd, getNewLine: () => '\n' });
}
