import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrismaClient } from '../../src/db/client.js';
import {
  type EmbeddedDatabase,
  freePort,
  prepareRuntimeLogin,
  startEmbeddedPostgres,
} from '../../src/db/embedded.js';
import { deployMigrations } from '../../src/db/migrate.js';
import { seedDatabase } from '../../src/db/seed.js';
import { TEST_MEMBER_ID_HASH_KEY } from './app.js';

/**
 * A PostgreSQL server of the test's own (embedded, in a temporary directory, migrated and
 * seeded), for fault tests: stopping, restarting or freezing it disturbs no other test. Never the
 * machine's shared server.
 */
export interface OwnPostgres {
  ownerUrl: string;
  runtimeUrl: string;
  /** Stops the server cleanly (clients see their connections closed). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT: the frozen server goes on where it stopped. */
  thaw(): void;
  close(): Promise<void>;
}

const PASSWORDS = { ownerPassword: 'own-owner', runtimePassword: 'own-runtime' };

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prior-auth-own-pg-'));
  const dataDir = path.join(dir, 'pg');
  const port = await freePort();
  const start = () => startEmbeddedPostgres({ dir: dataDir, persistent: true, port, ...PASSWORDS });
  let database: EmbeddedDatabase = await start();
  await deployMigrations(database.ownerUrl);
  await prepareRuntimeLogin(database, PASSWORDS.runtimePassword);
  const owner = createPrismaClient({ url: database.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  let frozen: number[] = [];
  const thaw = () => {
    for (const pid of frozen.reverse()) process.kill(pid, 'SIGCONT');
    frozen = [];
  };
  return {
    ownerUrl: database.ownerUrl,
    runtimeUrl: database.runtimeUrl,
    stop: () => database.stop(),
    async start() {
      database = await start();
    },
    freeze() {
      const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      frozen = [postmaster, ...descendantsOf(postmaster)];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
    thaw,
    async close() {
      thaw();
      await database.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every process below `pid`, from /proc (no procps needed). */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) is in parentheses and may hold spaces; the parent pid follows it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we read
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}
