// One lint configuration for the whole workspace. Every package runs `eslint .` from its own
// folder; ESLint finds this file by walking up. TypeScript files are linted with type
// information through the project service (each file is checked against the nearest
// tsconfig.json that includes it); JavaScript files (configs and scripts) get the untyped rules.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The globals of the Node.js running ESLint (Node 20+): scripts and config files run there.
const nodeGlobals = Object.fromEntries(
  Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']),
);

/** Test code, test helpers and benchmarks (not the shipped `./testing` fakes: they are API). */
const testFiles = [
  '**/*.test.ts',
  '**/*.test-d.ts',
  '**/*.bench.ts',
  '**/test/**',
  'tests/**',
  'bench/**',
];

export default defineConfig(
  globalIgnores([
    '**/dist/',
    '**/coverage/',
    '**/.turbo/',
    '**/temp/',
    '**/test-results/',
    '**/*.bundled_*.mjs',
    '**/*.timestamp-*.mjs',
    '**/*.d.ts',
    '**/*.d.cts',
    '**/*.d.mts',
  ]),

  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  {
    name: 'metered/javascript',
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: nodeGlobals },
  },

  {
    name: 'metered/typescript',
    files: ['**/*.{ts,mts,cts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { allowDefaultCaseForExhaustiveSwitch: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/consistent-type-exports': [
        'error',
        { fixMixedExportsWithInlineTypeSpecifier: true },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },

  {
    name: 'metered/tests',
    files: testFiles,
    rules: {
      // Tests assert on values they just built; a `!` there documents intent, not risk.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Parsed frames, JSON fixtures and mock calls are `any`-typed by nature.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // `expect(object.method).toHaveBeenCalled()` and fake implementations.
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
);
