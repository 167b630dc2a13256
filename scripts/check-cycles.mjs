#!/usr/bin/env node
// Circular-import check.
//   - Modules: every relative import, re-export and dynamic import() between the TypeScript files
//     under packages/*/src and apps/*/src. A cycle of runtime imports fails the check. A cycle
//     that only closes through `import type` / `export type` (erased from the output under
//     verbatimModuleSyntax, so harmless at load time) is listed as a notice; --strict fails on
//     it too. An inline `import { type A }` still loads the module and counts as runtime.
//   - Packages: the workspace dependency graph (dependencies, devDependencies, peerDependencies
//     between workspace packages) must point one way.
// Usage: node scripts/check-cycles.mjs [--strict] [folder ...]
//        (folders default to packages/*/src and apps/*/src)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const workspaceGroups = ['packages', 'apps', 'tests'];

function childFolders(folder) {
  const path = join(root, folder);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .map((name) => join(path, name))
    .filter((child) => statSync(child).isDirectory());
}

function sourceFiles(folder) {
  const files = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') files.push(...sourceFiles(path));
    } else if (/\.(ts|tsx|mts|cts)$/.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) {
      files.push(path);
    }
  }
  return files;
}

/** `./x.js` → `./x.ts`, `./x` → `./x.ts` or `./x/index.ts`; undefined when not a local file. */
function resolveSpecifier(from, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(c|m)?js$/, '');
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

/** Local imports of one file: [{ target, typeOnly }]. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const edges = [];
  const add = (specifier, typeOnly) => {
    const target = resolveSpecifier(file, specifier);
    if (target !== undefined) edges.push({ target, typeOnly });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      add(node.moduleReference.expression.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** Strongly connected components with more than one node, or a node importing itself (Tarjan). */
function cyclesOf(graph) {
  let index = 0;
  const indices = new Map();
  const lowLinks = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const connect = (node) => {
    indices.set(node, index);
    lowLinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        connect(next);
        lowLinks.set(node, Math.min(lowLinks.get(node), lowLinks.get(next)));
      } else if (onStack.has(next)) {
        lowLinks.set(node, Math.min(lowLinks.get(node), indices.get(next)));
      }
    }
    if (lowLinks.get(node) === indices.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
        components.push(component.reverse());
      }
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) connect(node);
  return components;
}

/** One concrete cycle through `start`, staying inside `members` (breadth-first, shortest). */
function pathThrough(graph, start, members) {
  const inside = new Set(members);
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const next of graph.get(node) ?? []) {
      if (next === start) {
        const path = [node];
        for (let step = previous.get(node); step !== undefined; step = previous.get(step)) {
          path.unshift(step);
        }
        return [...path, start];
      }
      if (inside.has(next) && !previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

const strict = process.argv.includes('--strict');
const folderArguments = process.argv.slice(2).filter((argument) => argument !== '--strict');
const folders =
  folderArguments.length > 0
    ? folderArguments.map((folder) => resolve(folder))
    : ['packages', 'apps']
        .flatMap(childFolders)
        .map((folder) => join(folder, 'src'))
        .filter((folder) => existsSync(folder));

const problems = [];
const notices = [];

// Modules.
const graph = new Map();
const runtimeGraph = new Map();
let fileCount = 0;
for (const folder of folders) {
  for (const file of sourceFiles(folder)) {
    fileCount += 1;
    const edges = importsOf(file);
    graph.set(file, [...new Set(edges.map((edge) => edge.target))]);
    runtimeGraph.set(file, [
      ...new Set(edges.filter((edge) => !edge.typeOnly).map((edge) => edge.target)),
    ]);
  }
}
const runtimeMembers = new Set(cyclesOf(runtimeGraph).flat());
for (const component of cyclesOf(graph)) {
  const start = component.find((file) => runtimeMembers.has(file)) ?? component[0];
  const runtime = runtimeMembers.has(start);
  const path = pathThrough(runtime ? runtimeGraph : graph, start, component);
  const text =
    `${runtime ? 'import cycle' : 'import cycle through type-only imports'}:\n    ` +
    path.map((file) => relative(root, file)).join('\n    -> ');
  (runtime || strict ? problems : notices).push(text);
}

// Workspace packages.
const manifests = [
  ...workspaceGroups.flatMap(childFolders),
  join(root, 'bench'),
  join(root, 'tooling'),
]
  .map((folder) => join(folder, 'package.json'))
  .filter((file) => existsSync(file))
  .map((file) => JSON.parse(readFileSync(file, 'utf8')));
const names = new Set(manifests.map((manifest) => manifest.name));
const packageGraph = new Map(
  manifests.map((manifest) => [
    manifest.name,
    Object.keys({
      ...manifest.dependencies,
      ...manifest.devDependencies,
      ...manifest.peerDependencies,
      ...manifest.optionalDependencies,
    }).filter((name) => names.has(name)),
  ]),
);
for (const component of cyclesOf(packageGraph)) {
  problems.push(
    `package dependency cycle:\n    ${pathThrough(packageGraph, component[0], component).join(' -> ')}`,
  );
}

if (notices.length > 0) {
  console.log(
    `check-cycles: ${notices.length} cycle(s) through type-only imports (not failing):\n`,
  );
  for (const notice of notices) console.log(`  ${notice}\n`);
}
if (problems.length > 0) {
  console.error(`check-cycles: ${problems.length} cycle(s) found:\n`);
  for (const problem of problems) console.error(`  ${problem}\n`);
  console.error('Move the shared part into its own module so the imports point one way.');
  process.exit(1);
}
console.log(
  `check-cycles: no runtime import cycles in ${fileCount} source files (${folders.length} folders) ` +
    `or between ${manifests.length} workspace packages.`,
);
