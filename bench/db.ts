import path from 'node:path';
import pg from 'pg';
import { loadDevSecrets, startEmbeddedPostgres } from '../src/db/embedded.js';
import { deployMigrations } from '../src/db/migrate.js';
import { ensureRuntimeLogin, withCredentials } from '../src/db/roles.js';
import { BENCH_TABLES, DEFAULT_SCALE, dataFingerprint, dataStatements, type Scale } from './data.js';

/** The login the benchmarked server connects as: a member of prior_auth_app only, so RLS applies. */
export const BENCH_RUNTIME_LOGIN = { user: 'prior_auth_bench_runtime', password: 'bench-runtime-password' };
const LOCAL_SERVER = 'postgresql://postgres@127.0.0.1:5432';
const COMMENT_PREFIX = 'prior-auth bench data ';

export interface BenchDatabase {
  /** Owner (or superuser): migrations, the data, clean-up. */
  ownerUrl: string;
  /** The runtime login: what the server uses. */
  runtimeUrl: string;
  name: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** bench_prior_auth for the default scale; other scales get a database of their own. */
export function defaultDatabaseName(scale: Scale): string {
  const isDefault =
    scale.tenants === DEFAULT_SCALE.tenants && scale.casesPerTenant === DEFAULT_SCALE.casesPerTenant;
  return isDefault ? 'bench_prior_auth' : `bench_prior_auth_${scale.tenants}x${scale.casesPerTenant}`;
}

/** `fn` on a connection of its own to `url`, closed afterwards. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * BENCH_DATABASE_URL (an owner URL; the database is created when missing), else the local
 * PostgreSQL on 127.0.0.1:5432 as `postgres`, else (or with BENCH_EMBEDDED=1) an embedded
 * PostgreSQL under .data/bench.
 */
export async function openBenchDatabase(scale: Scale, log: (line: string) => void): Promise<BenchDatabase> {
  const explicit = process.env.BENCH_DATABASE_URL?.trim();
  let ownerUrl: string;
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  if (explicit) {
    ownerUrl = explicit;
  } else if (process.env.BENCH_EMBEDDED !== '1' && (await reachable(`${LOCAL_SERVER}/postgres`))) {
    ownerUrl = databaseUrl(LOCAL_SERVER, defaultDatabaseName(scale));
  } else {
    log('starting an embedded PostgreSQL under .data/bench');
    const dataDir = path.resolve('.data/bench');
    const secrets = await loadDevSecrets(dataDir);
    embedded = await startEmbeddedPostgres({
      dir: path.join(dataDir, 'pg'),
      ownerPassword: secrets.ownerPassword,
      runtimePassword: secrets.runtimePassword,
      persistent: true,
    });
    ownerUrl = databaseUrl(embedded.ownerUrl, defaultDatabaseName(scale));
  }
  const name = decodeURIComponent(new URL(ownerUrl).pathname.slice(1));
  await withClient(databaseUrl(ownerUrl, 'postgres'), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      log(`creating database ${name}`);
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    }
  });
  // Two runs on one database undo each other (each removes the other's writes and remakes the
  // tasks M2 and M3 write): a run holds a session advisory lock on it until it stops.
  const lock = new pg.Client({ connectionString: ownerUrl });
  await lock.connect();
  const {
    rows: [held],
  } = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('prior-auth bench')) AS ok");
  if (!held?.ok) {
    await lock.end();
    await embedded?.stop();
    throw new Error(`another bench run is using ${name} (it holds the bench's advisory lock): wait for it`);
  }
  return {
    ownerUrl,
    runtimeUrl: withCredentials(ownerUrl, BENCH_RUNTIME_LOGIN.user, BENCH_RUNTIME_LOGIN.password),
    name,
    embedded: embedded !== undefined,
    stop: async () => {
      await lock.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/**
 * Migrates, creates the runtime login and (re)generates the data unless the database already
 * holds exactly this data set (its fingerprint is the database's comment).
 */
export async function prepareBenchDatabase(
  db: BenchDatabase,
  scale: Scale,
  options: { log: (line: string) => void; regenerate?: boolean },
): Promise<{ generatedMs: number | null }> {
  const { log } = options;
  await deployMigrations(db.ownerUrl, { log });
  await ensureRuntimeLogin(db.ownerUrl, BENCH_RUNTIME_LOGIN.user, BENCH_RUNTIME_LOGIN.password);
  const fingerprint = `${COMMENT_PREFIX}${dataFingerprint(scale)} (${scale.tenants} tenants x ${scale.casesPerTenant} cases)`;
  return withClient(db.ownerUrl, async (client) => {
    const {
      rows: [current],
    } = await client.query<{ comment: string | null }>(
      'SELECT shobj_description(oid, $1) AS comment FROM pg_database WHERE datname = current_database()',
      ['pg_database'],
    );
    if (!options.regenerate && current?.comment === fingerprint) {
      log(`data set unchanged (${fingerprint}): reusing it`);
      return { generatedMs: null };
    }
    const {
      rows: [existing],
    } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
    if (!current?.comment?.startsWith(COMMENT_PREFIX) && (existing?.n ?? 0) > 0 && !options.regenerate) {
      throw new Error(
        `${db.name} holds rows the bench did not generate; it would empty every table. ` +
          'Use another database (BENCH_DATABASE_URL), or pass --regenerate if that is what you want.',
      );
    }
    const started = Date.now();
    log(`generating ${scale.tenants} tenants x ${scale.casesPerTenant} cases`);
    await client.query(`COMMENT ON DATABASE ${client.escapeIdentifier(db.name)} IS NULL`);
    await client.query(`TRUNCATE ${BENCH_TABLES.map((t) => client.escapeIdentifier(t)).join(', ')}`);
    const {
      rows: [role],
    } = await client.query<{ rolsuper: boolean }>(
      'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
    );
    // Every value is generated valid (ids exist, timestamps are whole milliseconds): a superuser
    // skips the triggers and foreign-key checks of the bulk load, which is then several times faster.
    if (role?.rolsuper) await client.query("SET session_replication_role = 'replica'");
    await client.query("SET maintenance_work_mem = '512MB'");
    await client.query('SET synchronous_commit = off');
    for (const { table, sql } of dataStatements(scale)) {
      const t0 = Date.now();
      const { rowCount } = await client.query(sql);
      log(`  ${table}: ${rowCount} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    await client.query('RESET session_replication_role');
    const t0 = Date.now();
    await client.query('VACUUM (ANALYZE)');
    log(`  vacuum analyze: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await client.query(
      `COMMENT ON DATABASE ${client.escapeIdentifier(db.name)} IS ${client.escapeLiteral(fingerprint)}`,
    );
    return { generatedMs: Date.now() - started };
  });
}

/** Rows the load wrote (M1's tasks, audit and event rows), removed so that every run starts alike. */
export async function removeBenchWrites(db: BenchDatabase): Promise<number> {
  return withClient(db.ownerUrl, async (client) => {
    let removed = 0;
    removed += (await client.query("DELETE FROM tasks WHERE title LIKE 'bench-m1%'")).rowCount ?? 0;
    removed += (await client.query('DELETE FROM events')).rowCount ?? 0;
    removed += (await client.query('DELETE FROM audit_logs')).rowCount ?? 0;
    if (removed > 0) await client.query('VACUUM (ANALYZE) tasks, events, audit_logs');
    return removed;
  });
}
