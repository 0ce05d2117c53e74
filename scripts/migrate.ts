// npm run db:deploy: apply pending migrations to DIRECT_DATABASE_URL (else DATABASE_URL).
import { loadConfig } from '../src/config.js';
import { deployMigrations } from '../src/db/migrate.js';

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
})();
if (!config.directDatabaseUrl) {
  process.stderr.write(
    'db:deploy needs DIRECT_DATABASE_URL (or DATABASE_URL): the owner role that runs migrations\n',
  );
  process.exit(1);
}
try {
  const result = await deployMigrations(config.directDatabaseUrl, {
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(
    `${result.applied.length} migration(s) applied, ${result.alreadyApplied.length} already applied\n`,
  );
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
