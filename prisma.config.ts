import { defineConfig } from 'prisma/config';

// `prisma generate` reads no database. Commands that do (migrate status, studio) take the owner URL.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DIRECT_DATABASE_URL ?? process.env.DATABASE_URL ?? '' },
});
