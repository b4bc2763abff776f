import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages (packages/*) are tested from their TypeScript source, not their build.
  resolve: { conditions: ['source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end files spend most of their time waiting on the processes they start, so three
    // files at a time keep two cores busy. Files in one worker share the module cache (no state
    // lives in src/ modules, and tests stub no modules): importing the app once per worker rather
    // than once per file took a fifth of the suite's time.
    maxWorkers: 3,
    isolate: false,
    // `npm run coverage`: what the test processes themselves run (server and CLI processes they
    // start are not counted).
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
    },
  },
});
