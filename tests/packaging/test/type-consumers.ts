// The type-checking matrix of fresh-project.test.ts: which compiler options a consumer of the
// packages may have, and which entry points each one imports. Every program is compiled by
// `tsc` with `skipLibCheck: false`, so the packages' declarations are checked as well.

/** Entry points with declarations that need no Node: the SDK. */
export const SDK_TYPE_ENTRIES = [
  '@metered/errors',
  '@metered/errors/reference',
  '@metered/protocol',
  '@metered/signalling',
  '@metered/signalling/testing',
  '@metered/datachannel',
  '@metered/peer',
  '@metered/peer/testing',
] as const;

/** Entry points for Node only. */
export const NODE_TYPE_ENTRIES = ['@metered/node-webrtc-adapter', '@metered/server'] as const;

/** A program that imports every given entry point (namespace imports, all used). */
export function importEverything(entries: readonly string[]): string {
  const lines = entries.map((entry, index) => `import * as entry${index} from '${entry}';`);
  return `${lines.join('\n')}\nexport const entries = [${entries.map((_, index) => `entry${index}`).join(', ')}];\n`;
}

export interface TypeConsumer {
  /** What the consumer is, for the test's title. */
  readonly title: string;
  readonly compilerOptions: Readonly<Record<string, unknown>>;
  /** File name → entry points it imports (`.mts` is ESM, `.cts` CommonJS, `.ts` as `module` says). */
  readonly files: Readonly<Record<string, readonly string[]>>;
  /** File name → the README quickstart (in examples/quickstarts) it is a copy of. */
  readonly quickstarts?: Readonly<Record<string, string>>;
}

const STRICT = { target: 'es2022', strict: true, skipLibCheck: false, noEmit: true };
/** Node's own types; `typeRoots` (the workspace's `@types`) is added by the test. */
const WITH_NODE = { lib: ['es2022'], types: ['node'] };
/** No `@types/node`: the web platform's types (`AbortSignal`) come from the `dom` lib. */
const WITHOUT_NODE = { lib: ['es2022', 'dom'], types: [] };

const RESOLUTIONS = [
  { name: 'node10', module: 'commonjs', moduleResolution: 'node10', files: ['.ts'] },
  { name: 'node16', module: 'node16', moduleResolution: 'node16', files: ['.mts', '.cts'] },
  { name: 'nodenext', module: 'nodenext', moduleResolution: 'nodenext', files: ['.mts', '.cts'] },
  { name: 'bundler', module: 'esnext', moduleResolution: 'bundler', files: ['.ts'] },
] as const;

export const TYPE_CONSUMERS: readonly TypeConsumer[] = [
  {
    title: 'a browser app (lib es2022 + dom, bundler, no @types/node)',
    compilerOptions: {
      ...STRICT,
      lib: ['es2022', 'dom'],
      types: [],
      module: 'esnext',
      moduleResolution: 'bundler',
    },
    files: { 'browser.ts': SDK_TYPE_ENTRIES },
    quickstarts: { 'room-browser.ts': 'src/room-browser.ts' },
  },
  ...RESOLUTIONS.flatMap(({ name, module, moduleResolution, files }) => [
    {
      title: `Node with @types/node, ${name} resolution`,
      compilerOptions: { ...STRICT, ...WITH_NODE, module, moduleResolution },
      files: Object.fromEntries(
        files.map((extension) => [
          `node-${name}${extension}`,
          // Node 16's CommonJS cannot require ESM, and TypeScript's node16 mode says so; the
          // ESM-only server is for ESM and for nodenext's CommonJS (Node 20.19+).
          name === 'node16' && extension === '.cts'
            ? [...SDK_TYPE_ENTRIES, '@metered/node-webrtc-adapter']
            : [...SDK_TYPE_ENTRIES, ...NODE_TYPE_ENTRIES],
        ]),
      ),
    },
    {
      title: `Node without @types/node (lib dom), ${name} resolution`,
      compilerOptions: { ...STRICT, ...WITHOUT_NODE, module, moduleResolution },
      files: Object.fromEntries(
        files.map((extension) => [`sdk-${name}${extension}`, SDK_TYPE_ENTRIES]),
      ),
    },
  ]),
  {
    title: 'the Node quickstarts as TypeScript (.mts, nodenext, @types/node)',
    compilerOptions: { ...STRICT, ...WITH_NODE, module: 'nodenext', moduleResolution: 'nodenext' },
    files: {},
    quickstarts: { 'pubsub.mts': 'src/pubsub.mjs', 'room-node.mts': 'src/room-node.mjs' },
  },
];
