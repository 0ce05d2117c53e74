import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The `pgbouncer` binary on PATH or where Debian puts it; undefined when there is none. */
export function findPgbouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'pgbouncer');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Pgbouncer {
  /** `url` with its host and port replaced by the pooler's. */
  pooled(url: string): string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/**
 * PgBouncer in transaction mode in front of the PostgreSQL of `url` (whose login and password it
 * uses to log in there), on a free port of 127.0.0.1, with its files in a temporary directory.
 * It refuses to run as root: as root it runs as `nobody` (`-u`).
 */
export async function startPgbouncer(
  binary: string,
  url: string,
  settings: Record<string, string | number> = {},
): Promise<Pgbouncer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prior-auth-pgbouncer-'));
  const root = process.getuid?.() === 0;
  // `nobody` writes its log and pid file here.
  if (root) await chmod(dir, 0o777);
  const target = new URL(url);
  const user = decodeURIComponent(target.username);
  const port = await freePort();
  const file = (name: string) => path.join(dir, name);
  // trust: clients are not asked for a password; PgBouncer logs in to PostgreSQL with the auth_file's.
  await writeFile(file('users.txt'), `"${user}" "${decodeURIComponent(target.password)}"\n`);
  const ini = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: file('users.txt'),
    pool_mode: 'transaction',
    logfile: file('pgbouncer.log'),
    pidfile: file('pgbouncer.pid'),
    ...settings,
  };
  await writeFile(
    file('pgbouncer.ini'),
    `[databases]\n* = host=${target.hostname} port=${target.port || 5432}\n\n[pgbouncer]\n${Object.entries(
      ini,
    )
      .map(([key, value]) => `${key} = ${value}`)
      .join('\n')}\n`,
  );
  if (root) await chmod(file('users.txt'), 0o644);
  const child: ChildProcess = spawn(binary, [...(root ? ['-u', 'nobody'] : []), file('pgbouncer.ini')], {
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const pooled = (original: string) => {
    const next = new URL(original);
    next.hostname = '127.0.0.1';
    next.port = String(port);
    return next.toString();
  };
  const log = () => readFile(file('pgbouncer.log'), 'utf8').catch(() => '');
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: pooled(url) });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return { pooled, log, stop };
    } catch (error) {
      await client.end().catch(() => undefined);
      if (child.exitCode !== null || attempt === 50) {
        const text = await log();
        await stop();
        throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${text}`);
      }
      await sleep(100);
    }
  }
}
