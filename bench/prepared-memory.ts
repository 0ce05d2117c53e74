/**
 * What a named prepared statement of the compiled queries costs a PostgreSQL backend: the server
 * in-process on a pool of one connection, distinct documents (page sizes and field sets of the
 * benchmark's shapes, each a new statement text) sent 6 times each (the 6th execution may build
 * the generic plan), the backend's private memory (RssAnon in /proc, so this needs the database
 * on this machine) read as it grows. Sets DB_PREPARED_STATEMENTS_MAX's default (src/db/prepared.ts).
 *
 *   npx tsx bench/prepared-memory.ts [--max N] [--documents N] [--shape q1|q2|q3|all]
 *
 * BENCH_DATABASE_URL: a role that may create databases (default: postgres@127.0.0.1:5432).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createTokenVerifier, signToken } from '../src/auth/jwt.js';
import { loadConfig } from '../src/config.js';
import { createPrismaClient } from '../src/db/client.js';
import { deployMigrations } from '../src/db/migrate.js';
import { ensureRuntimeLogin, withCredentials } from '../src/db/roles.js';
import { seedDatabase, seedIdentity } from '../src/db/seed.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { BENCH_RUNTIME_LOGIN, withClient } from './db.js';

const { values: args } = parseArgs({
  options: {
    max: { type: 'string', default: '100000' },
    documents: { type: 'string', default: '300' },
    shape: { type: 'string', default: 'all' },
  },
});
const SECRET = 'prepared-memory-secret-of-at-least-32-bytes';
const HASH_KEY = 'prepared-memory-hash-key-of-32-bytes!!';

function rssAnonMB(pid: number): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/RssAnon:\s+(\d+)\s+kB/);
  if (!match) throw new Error(`no RssAnon for ${pid}`);
  return Number(match[1]) / 1024;
}

/** The benchmark's three shapes with the page sizes and one field varied: each a new statement text. */
function document(i: number): string {
  const shape = args.shape === 'all' ? i % 3 : Number(String(args.shape).slice(1)) - 1;
  const n = args.shape === 'all' ? Math.floor(i / 3) : i;
  const size = 1 + (n % 100);
  const extra = Math.floor(n / 100) % 2 === 0 ? '' : ' updatedAt';
  const file = (name: string) => readFileSync(new URL(`queries/${name}.graphql`, import.meta.url), 'utf8');
  if (shape === 0)
    return file('q1').replace('cases(first: 50)', `cases(first: ${size})`).replace('payer', `payer${extra}`);
  if (shape === 1)
    return file('q2').replace('tasks(first: 10)', `tasks(first: ${size})`).replace('payer', `payer${extra}`);
  return file('q3').replace('first: 50', `first: ${size}`).replace('title', `title${extra}`);
}

async function main() {
  const server = process.env.BENCH_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `prepared_memory_${process.pid}`;
  await withClient(server, (client) => client.query(`CREATE DATABASE ${name}`));
  const ownerUrl = Object.assign(new URL(server), { pathname: `/${name}` }).toString();
  const runtimeUrl = withCredentials(ownerUrl, BENCH_RUNTIME_LOGIN.user, BENCH_RUNTIME_LOGIN.password);
  const documents = Number(args.documents);
  try {
    await deployMigrations(ownerUrl);
    await ensureRuntimeLogin(ownerUrl, BENCH_RUNTIME_LOGIN.user, BENCH_RUNTIME_LOGIN.password);
    const owner = createPrismaClient({ url: ownerUrl, poolMax: 1 });
    await seedDatabase(owner, { memberIdHashKey: HASH_KEY });
    await owner.$disconnect();
    const env = { NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: runtimeUrl };
    const config = loadConfig({ ...env, JWT_SECRET: SECRET, MEMBER_ID_HASH_KEY: HASH_KEY });
    const prisma = createPrismaClient({
      url: runtimeUrl,
      poolMax: 1,
      preparedStatements: { max: Number(args.max) },
    });
    const { yoga } = createServer({
      config,
      prisma,
      databaseUrl: runtimeUrl,
      logger: createLogger(config),
      verifyToken: await createTokenVerifier({ ...config.jwt, key: { kind: 'secret', secret: SECRET } }),
      memberIdHashKey: HASH_KEY,
    });
    const token = await signToken(SECRET, seedIdentity('staff@test-clinic.com') as never, config.jwt);
    const caseId = await firstCaseId(ownerUrl);
    const post = async (query: string) => {
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables: { caseId } }),
      });
      const text = await response.text();
      if (response.status !== 200 || text.includes('"errors"')) throw new Error(text.slice(0, 300));
    };
    await post('{ me { uuid } }');
    const pid = await backendPid(ownerUrl, name);
    const start = rssAnonMB(pid);
    console.log(`backend ${pid}: RssAnon ${start.toFixed(1)} MB after one request; cap ${args.max}`);
    const marks: [number, number][] = [];
    for (let i = 0; i < documents; i++) {
      const text = document(i);
      for (let run = 0; run < 6; run++) await post(text);
      if ((i + 1) % 50 === 0) {
        const mb = rssAnonMB(pid);
        marks.push([i + 1, mb]);
        console.log(`${i + 1} documents: RssAnon ${mb.toFixed(1)} MB (+${(mb - start).toFixed(1)})`);
      }
    }
    const [, end] = marks.at(-1) ?? [0, start];
    console.log(
      `${documents} statements: +${(end - start).toFixed(1)} MB, ${((end - start) / documents).toFixed(3)} MB per statement`,
    );
    await prisma.$disconnect();
  } finally {
    await withClient(server, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}

function firstCaseId(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM cases ORDER BY id LIMIT 1');
    return Buffer.from(`Case:${rows[0]?.id}`).toString('base64');
  });
}

function backendPid(url: string, database: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2',
      [database, BENCH_RUNTIME_LOGIN.user],
    );
    if (rows.length !== 1) throw new Error(`expected one backend, found ${rows.length}`);
    return (rows[0] as { pid: number }).pid;
  });
}

await main();
