// TypeDoc: one API reference (`pnpm docs:api` → docs/api/) for every public entry point, built
// from the published declaration files (run the build first). The entry points are read from the
// `exports` of each public package, so a new subpath is documented without editing this file, and
// each module is named by its import specifier (`@metered/errors/reference`), not its dist path.
// This file is also the TypeDoc plugin that does the naming (`load` below).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Declaration file (absolute path) → import specifier, for every public entry point. */
const specifiers = new Map();
for (const folder of ['packages', 'apps']) {
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const directory = join(root, folder, entry.name);
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (manifest.private) continue;
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const types = target?.import?.types ?? target?.types;
      if (typeof types !== 'string') continue;
      specifiers.set(resolve(directory, types), `${manifest.name}${subpath.slice(1)}`);
    }
  }
}

/**
 * Types of our packages that the public declarations use without exporting them, as
 * `package:name`. TypeDoc's own export check only looks at one package, so `load` below runs it
 * for every `@metered/*` package; each name here is a gap in that package's exports, to be
 * exported (or made internal) and then removed from this list. A name no longer needed fails.
 */
const notExported = [];

/** @type {import('typedoc').TypeDocOptions} */
export default {
  name: '@metered realtime',
  entryPointStrategy: 'resolve',
  entryPoints: [...specifiers.keys()].map((file) => relative(root, file)),
  tsconfig: 'tsconfig.typedoc.json',
  plugin: [fileURLToPath(import.meta.url)],
  out: 'docs/api',
  readme: 'none',
  disableSources: true,
  treatWarningsAsErrors: true,
};

/** Every reference type in a serialised project that names no documented reflection. */
function* unresolvedReferences(node, owner) {
  if (Array.isArray(node)) {
    for (const item of node) yield* unresolvedReferences(item, owner);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const here =
    typeof node.name === 'string' && typeof node.kind === 'number' ? [...owner, node.name] : owner;
  if (
    node.type === 'reference' &&
    node.refersToTypeParameter !== true &&
    typeof node.target === 'object' &&
    node.target !== null
  ) {
    yield { target: node.target, owner: here.join('.') };
  }
  for (const value of Object.values(node)) yield* unresolvedReferences(value, here);
}

/**
 * The plugin: names each entry-point module after its import specifier; lets a `{@link Name}` in a
 * subpath entry point (`@metered/errors/reference`) name an export of its package's main entry;
 * checks that every `@metered/*` type the declarations use is documented.
 * @param {import('typedoc').Application} app
 */
export async function load(app) {
  const { Application, Converter, Reflection, ReflectionKind } = await import('typedoc');

  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const symbol = context.getSymbolFromReflection(reflection);
    const file = symbol?.declarations?.[0]?.getSourceFile().fileName;
    const specifier = file === undefined ? undefined : specifiers.get(resolve(file));
    if (specifier !== undefined) reflection.name = specifier;
  });

  // Before TypeDoc resolves links (its resolver runs at priority -300).
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    const { project } = context;
    for (const reflection of Object.values(project.reflections)) {
      let module = reflection;
      while (module !== undefined && !module.kindOf(ReflectionKind.Module)) module = module.parent;
      const packageName = module?.name.match(/^@metered\/[^/]+(?=\/)/)?.[0];
      if (packageName === undefined) continue;
      const main = project.children?.find((child) => child.name === packageName);
      const comments = [reflection.comment, ...(reflection.comment?.blockTags ?? [])];
      for (const parts of comments.map((comment) => comment?.summary ?? comment?.content ?? [])) {
        for (const part of parts) {
          if (part.kind !== 'inline-tag' || part.tag !== '@link' || part.target !== undefined)
            continue;
          const target = main?.getChildByName([part.text.trim()]);
          if (target instanceof Reflection) part.target = target;
        }
      }
    }
  });

  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const serialised = app.serializer.projectToObject(project, root);
    const used = new Set();
    const warned = new Set();
    for (const { target, owner } of unresolvedReferences(serialised.children, [])) {
      if (typeof target.packageName !== 'string' || !target.packageName.startsWith('@metered/')) {
        continue;
      }
      const key = `${target.packageName}:${target.qualifiedName}`;
      if (notExported.includes(key)) {
        used.add(key);
      } else if (!warned.has(key)) {
        warned.add(key);
        app.logger.warn(
          `${target.qualifiedName}, defined in ${target.packageName}/${target.packagePath}, is referenced by ${owner} but not exported by any entry point`,
        );
      }
    }
    for (const key of notExported.filter((name) => !used.has(name))) {
      app.logger.warn(
        `${key} is listed as not exported in typedoc.config.mjs but no longer needs to be`,
      );
    }
  });
}
