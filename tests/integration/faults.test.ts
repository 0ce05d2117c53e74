import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { createPrismaClient } from '../../src/db/client.js';
import {
  type EmbeddedDatabase,
  freePort,
  prepareRuntimeLogin,
  startEmbeddedPostgres,
} from '../../src/db/embedded.js';
import { deployMigrations } from '../../src/db/migrate.js';
import { seedDatabase, seedIdentity } from '../../src/db/seed.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createLogger } from '../../src/logger.js';
import { createServer } from '../../src/server.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// The database goes away under a running server: requests fail fast with 503, /readyz says why,
// and when the database is back the server serves again, without a restart. A PostgreSQL of this
// file's own, so that stopping it disturbs no other test.

const PASSWORDS = { ownerPassword: 'fault-owner', runtimePassword: 'fault-runtime' };
let dir: string;
let port: number;
let database: EmbeddedDatabase;
let prisma: PrismaClient;
let fetchApi: (path: string, init?: RequestInit) => Promise<Response>;
let token: string;

const start = () =>
  startEmbeddedPostgres({ dir: path.join(dir, 'pg'), persistent: true, port, ...PASSWORDS });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'prior-auth-faults-'));
  port = await freePort();
  database = await start();
  await deployMigrations(database.ownerUrl);
  await prepareRuntimeLogin(database, PASSWORDS.runtimePassword);
  const owner = createPrismaClient({ url: database.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: database.runtimeUrl,
  });
  prisma = createPrismaClient({ url: database.runtimeUrl, poolMax: 4 });
  if (!config.jwt.key) throw new Error('JWT_SECRET is set above');
  const verifyToken = await createTokenVerifier({ ...config.jwt, key: config.jwt.key });
  const { yoga } = createServer({
    config,
    prisma,
    logger: createLogger(config),
    verifyToken,
    memberIdHashKey: TEST_MEMBER_ID_HASH_KEY,
  });
  fetchApi = async (p, init) => yoga.fetch(`http://localhost${p}`, init ?? {}, {});
  token = await signToken(TEST_JWT_SECRET, seedIdentity('admin@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
  });
}, 120_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await database?.stop().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function me(): Promise<{ status: number; code?: string; ms: number }> {
  const started = Date.now();
  const res = await fetchApi('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me { email } }' }),
  });
  const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, code: body.errors?.[0]?.extensions?.code, ms: Date.now() - started };
}

/** Polls until a request succeeds; how long it took and how many failed meanwhile. */
async function untilServing(limitMs: number): Promise<{ ms: number; failed: number }> {
  const started = Date.now();
  let failed = 0;
  while (Date.now() - started < limitMs) {
    if ((await me()).status === 200) return { ms: Date.now() - started, failed };
    failed++;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not serving again after ${limitMs} ms`);
}

test('PostgreSQL stopped and started: 503 fast while it is gone, /readyz says why, serving again within 5 s', async () => {
  expect((await me()).status).toBe(200);
  await database.stop();
  const down = await me();
  expect(down).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  expect(down.ms).toBeLessThan(3_000);
  console.info(`faults: with PostgreSQL stopped, a request failed with 503 in ${down.ms} ms`);
  const ready = await fetchApi('/readyz');
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { reason: string }).reason).toMatch(/^database: /);

  database = await start();
  const back = await untilServing(5_000);
  console.info(
    `faults: after a restart, serving again in ${back.ms} ms, ${back.failed} requests failed meanwhile`,
  );
  expect((await fetchApi('/readyz')).status).toBe(200);
}, 60_000);

test('backends terminated with pg_terminate_backend: the pool replaces them, serving again within 5 s', async () => {
  expect((await me()).status).toBe(200);
  const [row] = await query<{ terminated: number }>(
    database.ownerUrl,
    "SELECT count(pg_terminate_backend(pid))::int AS terminated FROM pg_stat_activity WHERE usename = 'prior_auth_runtime'",
  );
  const terminated = row?.terminated ?? 0;
  expect(terminated).toBeGreaterThan(0);
  const back = await untilServing(5_000);
  console.info(
    `faults: after ${terminated} backends were terminated, serving again in ${back.ms} ms, ${back.failed} failed`,
  );
}, 60_000);
