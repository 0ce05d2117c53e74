// npm run db:seed: the demo data, idempotently, into DIRECT_DATABASE_URL (else DATABASE_URL).
// `npm start` without DATABASE_URL seeds its embedded database by itself on first run.
import { loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { loadDevSecrets } from '../src/db/embedded.js';
import { seedDatabase } from '../src/db/seed.js';

const config = loadConfig();
if (!config.directDatabaseUrl) {
  process.stderr.write(
    'db:seed needs DIRECT_DATABASE_URL (or DATABASE_URL); npm start seeds its embedded database itself\n',
  );
  process.exit(1);
}
const memberIdHashKey = config.memberIdHashKey ?? (await loadDevSecrets(config.dataDir)).memberIdHashKey;
const prisma = createPrismaClient({ url: config.directDatabaseUrl, poolMax: 2, statementTimeoutMs: 60_000 });
try {
  const result = await seedDatabase(prisma, { memberIdHashKey });
  process.stdout.write(`seeded ${result.tenants} tenants, ${result.createdRows} new rows\n`);
} finally {
  await prisma.$disconnect();
}
