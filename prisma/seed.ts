// npm run db:seed: the demo data, idempotently, into DIRECT_DATABASE_URL (else DATABASE_URL).
// `npm start` without DATABASE_URL seeds its embedded database by itself on first run.
import { loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { seedDatabase } from '../src/db/seed.js';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const url =
  config.directDatabaseUrl ??
  fail('db:seed needs DIRECT_DATABASE_URL (or DATABASE_URL); npm start seeds its embedded database itself');
// The seeded member id hashes must be the ones the server computes: with the server's key.
const memberIdHashKey =
  config.memberIdHashKey ?? fail('db:seed needs MEMBER_ID_HASH_KEY, the key the server uses');
const prisma = createPrismaClient({ url, poolMax: 2 });
try {
  const result = await seedDatabase(prisma, { memberIdHashKey });
  process.stdout.write(`seeded ${result.tenants} tenants, ${result.createdRows} new rows\n`);
} finally {
  await prisma.$disconnect();
}
