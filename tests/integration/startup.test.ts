import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { freePort, RUNTIME_LOGIN } from '../../src/db/embedded.js';
import { withCredentials } from '../../src/db/roles.js';
import {
  createTestDatabase,
  databaseUrl,
  query,
  TEST_RUNTIME_LOGIN,
  type TestDatabase,
} from '../helpers/db.js';
import { runServerToExit, startServerProcess } from '../helpers/server-process.js';

// The server as a user starts it: a process of its own, its embedded PostgreSQL under a DATA_DIR
// of this test's, or a DATABASE_URL that is wrong in one way. Every failed start must be one
// line on stderr naming the cause and the fix, and leave nothing running.

let dataDir: string;
let database: TestDatabase;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'prior-auth-startup-'));
  database = await createTestDatabase();
});

afterAll(async () => {
  for (const pid of postmastersOf(dataDir)) process.kill(pid, 'SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

/** Without DATABASE_URL: the embedded PostgreSQL under DATA_DIR, as `npm start` runs it. */
const embedded = (env: Record<string, string> = {}) => ({ DATA_DIR: dataDir, ...env });

/** The postmasters running on `dir`'s cluster, from /proc (no procps needed). */
function postmastersOf(dir: string): number[] {
  const cluster = path.join(dir, 'pg');
  const processes = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args.includes('-D') && args[args.indexOf('-D') + 1] === cluster;
      } catch {
        return false; // ended while we read
      }
    })
    .map(Number);
  // A backend the postmaster has just forked shows the postmaster's command line until it sets its
  // own title: the postmasters are those whose parent is none of them.
  return processes.filter((pid) => !processes.includes(parentOf(pid)));
}

/** Field 4 of /proc/<pid>/stat: the parent's pid (0 when the process ended meanwhile). */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** Field 5 of /proc/<pid>/stat, after the command name in parentheses. */
function processGroupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Line 1 of postmaster.pid: the postmaster's pid; line 4: its port. */
function lockFile(dir: string): { pid: number; port: number } {
  const lines = readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  return { pid: Number(lines[0]), port: Number(lines[3]) };
}

const oneLine = (stderr: string[]) => {
  expect(stderr).toHaveLength(1);
  expect(stderr[0]).not.toMatch(/^\s+at /m);
  return stderr[0];
};

test('a second server on the same DATA_DIR, or on a port in use, is refused in one line; the first serves on, and stops clean', async () => {
  const first = await startServerProcess('', embedded());
  try {
    const held = lockFile(dataDir);
    expect(postmastersOf(dataDir)).toEqual([held.pid]);
    // A terminal's Ctrl-C reaches its foreground process group: not PostgreSQL's, which the
    // server stops itself once its requests are done.
    expect(processGroupOf(held.pid)).not.toBe(processGroupOf(first.child.pid ?? 0));

    const second = await runServerToExit('', embedded());
    expect(second.code).toBe(1);
    expect(oneLine(second.stderr)).toBe(
      `The embedded database in ${path.join(dataDir, 'pg')} is in use by another server (process ${first.child.pid}, ` +
        `its PostgreSQL pid ${held.pid}): stop that server (Ctrl-C in its terminal), or set DATA_DIR to another ` +
        'directory to run a second server',
    );

    // The port is checked before any database work: no line of a migration, nothing started.
    const port = new URL(first.url).port;
    const third = await runServerToExit('', embedded({ PORT: port }));
    expect(third.code).toBe(1);
    expect(oneLine(third.stderr)).toBe(
      `Port ${port} on 127.0.0.1 is in use by another process: stop it, or set PORT to a free port (e.g. PORT=${Number(port) + 1})`,
    );
    expect(third.stdout).toEqual([]);

    // The embedded PostgreSQL asks for passwords (scram-sha-256): a wrong one is named as such.
    const wrongPassword = `postgresql://${RUNTIME_LOGIN}:not-the-password@127.0.0.1:${held.port}/prior_auth`;
    const refused = await runServerToExit(wrongPassword);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toBe(
      `The database at 127.0.0.1:${held.port} (DATABASE_URL) refused the password of role "${RUNTIME_LOGIN}" ` +
        '(SQLSTATE 28P01): fix the password in DATABASE_URL',
    );

    expect(postmastersOf(dataDir)).toEqual([held.pid]);
    const health = await fetch(new URL('/readyz', first.url));
    expect(health.status).toBe(200);
  } finally {
    await first.stop();
  }
  expect(await first.exited).toMatchObject({ code: 0 });
  expect(first.lines.filter((line) => line.msg === 'stopped')).toHaveLength(1);
  expect(first.lines.map((line) => line.msg).slice(-2)).toEqual([
    'stopping: finishing in-flight requests',
    'stopped',
  ]);
  expect(postmastersOf(dataDir)).toEqual([]);
  expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
}, 120_000);

test('a signal during the start stops the embedded PostgreSQL it had started', async () => {
  let signalled = false;
  const interrupted = await runServerToExit('', embedded({ LOG_LEVEL: 'debug' }), {
    // PostgreSQL is up; the migrations and the seed check come next.
    onLine: (line, child) => {
      if (!signalled && line.includes('database system is ready to accept connections')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    },
  });
  expect(signalled).toBe(true);
  expect(interrupted.code).toBe(1);
  expect(oneLine(interrupted.stderr)).toBe('Start interrupted (SIGTERM): stopped');
  expect(interrupted.stdout.some((line) => line.includes('"msg":"ready"'))).toBe(false);
  expect(postmastersOf(dataDir)).toEqual([]);
}, 120_000);

test('a database that cannot be reached, or has no such database, is named with its host and port', async () => {
  const closedPort = await freePort();
  // A host that accepts the connection and never answers, as a firewall that drops packets does.
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as net.AddressInfo).port;
  const login = `${TEST_RUNTIME_LOGIN.user}:${TEST_RUNTIME_LOGIN.password}`;
  const adminUrl = new URL(inject('adminUrl'));
  const shared = `${adminUrl.hostname}:${adminUrl.port || 5432}`;
  try {
    const [refused, timedOut, missing] = await Promise.all([
      runServerToExit(`postgresql://${login}@127.0.0.1:${closedPort}/prior_auth`),
      runServerToExit(`postgresql://${login}@127.0.0.1:${silentPort}/prior_auth`, {
        DB_STATEMENT_TIMEOUT_MS: '1000',
      }),
      runServerToExit(
        withCredentials(
          databaseUrl(inject('adminUrl'), 'no_such_db'),
          TEST_RUNTIME_LOGIN.user,
          TEST_RUNTIME_LOGIN.password,
        ),
      ),
    ]);
    expect(oneLine(refused.stderr)).toBe(
      `Cannot reach the database at 127.0.0.1:${closedPort} (DATABASE_URL): connection refused: is PostgreSQL running there, on that port?`,
    );
    expect(oneLine(timedOut.stderr)).toBe(
      `The database at 127.0.0.1:${silentPort} (DATABASE_URL) did not answer within 1000 ms (DB_STATEMENT_TIMEOUT_MS): ` +
        'check the host and port in DATABASE_URL, and that no firewall drops the connection',
    );
    expect(oneLine(missing.stderr)).toBe(
      `The database at ${shared} (DATABASE_URL) has no database "no_such_db" (SQLSTATE 3D000): create it ` +
        '(createdb no_such_db) and run npm run db:deploy, or fix the database name in DATABASE_URL',
    );
    for (const run of [refused, timedOut, missing]) {
      expect(run.code).toBe(1);
      expect(run.stderr.join('\n')).not.toContain(TEST_RUNTIME_LOGIN.password);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
}, 60_000);

test('production: a broken pooled connection is one short line, and a stop is one "stopped" line', async () => {
  const server = await startServerProcess(database.runtimeUrl, {
    NODE_ENV: 'production',
    JWT_ISSUER: 'https://issuer.example/',
    JWT_AUDIENCE: 'prior-auth',
  });
  try {
    // The start's own check left an idle connection in the pool (idle for up to 10 s).
    const [row] = await query<{ terminated: number }>(
      inject('adminUrl'),
      `SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity
        WHERE datname = $1 AND usename = $2`,
      [database.name, TEST_RUNTIME_LOGIN.user],
    );
    expect(row?.terminated).toBeGreaterThan(0);
    await expect
      .poll(() =>
        server.lines.filter((line) => String(line.msg).startsWith('a pooled database connection broke')),
      )
      .toHaveLength(1);
  } finally {
    await server.stop();
  }
  const broken = server.lines.find((line) =>
    String(line.msg).startsWith('a pooled database connection broke'),
  );
  expect(broken).toMatchObject({ level: 40, cause: expect.stringContaining('57P01'), suppressed: 0 });
  expect(JSON.stringify(broken).length).toBeLessThan(400);
  expect(server.lines.every((line) => JSON.stringify(line).length < 1_000)).toBe(true);
  expect(server.lines.filter((line) => line.msg === 'stopped')).toHaveLength(1);
  expect(server.lines.map((line) => line.msg).slice(-2)).toEqual([
    'stopping: finishing in-flight requests',
    'stopped',
  ]);
}, 60_000);
