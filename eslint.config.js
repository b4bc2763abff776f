import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const NO_DRIZZLE = { name: 'drizzle-orm', allowTypeImports: true, message: 'SQL belongs in a *-store.ts module (or db/).' };
const NO_TABLES = {
  group: ['**/db/schema.js', '**/db/prepared.js', '**/db/keyset-page.js'],
  allowTypeImports: true,
  message: 'Tables belong to a *-store.ts module (or db/); import its functions.',
};
const ACTIONS_IN_THE_DOMAIN = [
  {
    group: ['**/audit/audit-log.js'],
    importNames: ['recordAuditEvent'],
    message: 'The domain function of the action records its audit event (design guide: how a request flows).',
  },
  {
    group: ['**/revocation/ending-sessions.js'],
    importNames: ['revokeSessions', 'revokeSessionsIn'],
    message: 'Ending sessions is a domain function (users/user-sessions.ts, clients/, revocation/), never a route or command.',
  },
];

export default tseslint.config(
  { ignores: ['dist/', '**/dist/', '**/dist.next/', '**/dist.old/', 'node_modules/', 'drizzle/', '.data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
      // Type-aware rules: a promise nobody awaits or handles is a failure nobody sees.
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // One error catalogue (src/errors.ts): its factories fix each code's status; one no-store header set.
    files: ['src/**/*.ts'],
    ignores: ['src/errors.ts', 'src/http/no-store.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'NewExpression[callee.name=/^(ApiError|OAuthError)$/]',
          message: 'Throw through a named factory in src/errors.ts: the code fixes the status there.',
        },
        {
          selector: "Property[key.value='Cache-Control'][value.value='no-store']",
          message: 'Use NO_STORE from src/http/no-store.ts.',
        },
      ],
    },
  },
  {
    // Dependencies point one way (design guide): no import cycles anywhere in src/.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver()],
      // no-cycle reads the files an import leads to, so it must know how to parse TypeScript.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts'],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  {
    // The storage boundary: SQL lives in store modules (`*-store.ts`, one per table group) and db/.
    // Everything else may use their row types, never drizzle or the tables themselves.
    files: ['src/**/*.ts'],
    ignores: ['src/db/**', 'src/**/*-store.ts', 'src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths: [NO_DRIZZLE], patterns: [NO_TABLES] }] },
  },
  {
    // Routes and CLI commands only parse and present: the domain function of each action holds its
    // rules and records its audit event; neither audits nor ends sessions itself.
    files: ['src/http/**/*.ts', 'src/cli/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: [NO_DRIZZLE], patterns: [NO_TABLES, ...ACTIONS_IN_THE_DOMAIN] }],
    },
  },
  {
    // Routes stay thin: they call domain functions, never a store or the database layer itself.
    files: ['src/http/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [NO_DRIZZLE],
          patterns: [
            ...ACTIONS_IN_THE_DOMAIN,
            {
              group: ['**/db/*', '**/*-store.js', '!**/no-store.js'],
              allowTypeImports: true,
              message: 'Call a domain function (users/, sessions/, clients/ ...) instead of a store or db/ from http/.',
            },
          ],
        },
      ],
    },
  },
  {
    // The verifier package stands alone: jose, and hono/ioredis as optional peers; nothing of the issuer.
    files: ['packages/verifier/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../../*', 'token-issuer', 'token-issuer/*'], message: 'The verifier package imports nothing of the issuer.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**', 'bin/**', 'scripts/**', 'test/**', 'packages/*/test/**', 'deploy/**', 'bench/**', '*.config.ts'],
    rules: { 'no-console': 'off' },
  },
);
