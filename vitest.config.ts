import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 has no "exports" map: Node loads its CommonJS build, Vite its .mjs build. Two
    // copies break `instanceof GraphQLError` between our code and yoga's; use Node's copy.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // One PostgreSQL (TEST_DATABASE_URL / DATABASE_URL, else embedded) and a migrated template
    // database for the run; every test file clones its own database from the template.
    globalSetup: ['tests/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
