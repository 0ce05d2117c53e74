import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { createPrismaClient } from '../../src/db/client.js';
import { PREPARED_STATEMENTS_UNSUPPORTED } from '../../src/db/prepared.js';
import { seedDatabase, seedIdentity, stableUuid } from '../../src/db/seed.js';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, query, type TestDatabase } from '../helpers/db.js';
import { findPgbouncer, type Pgbouncer, startPgbouncer } from '../helpers/pgbouncer.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// The server in its own process behind a real PgBouncer in transaction mode, as production runs it
// behind a pooler. Debian 12's PgBouncer (1.18) does not keep named statements per client: there
// the server must send them unnamed (DB_PREPARED_STATEMENTS=false), or find out by itself at the
// cost of a few 503s. Every response is checked: right status, no error, only the caller's rows.

const PGBOUNCER = findPgbouncer();
const TENANTS = {
  'test-clinic': stableUuid('tenant', 'test-clinic'),
  'second-clinic': stableUuid('tenant', 'second-clinic'),
};
const USERS = ['admin', 'clinician', 'staff', 'jordan'].flatMap((who) =>
  Object.keys(TENANTS).map((slug) => ({
    email: `${who}@${slug}.com`,
    tenant: TENANTS[slug as keyof typeof TENANTS],
  })),
);
const REQUESTS = 300;
const CONCURRENCY = 16;

let db: TestDatabase;
let casesOf: Map<string, string[]>;

beforeAll(async () => {
  if (!PGBOUNCER) return;
  db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
  const rows = await query<{ id: string; tenant_id: string }>(db.ownerUrl, 'SELECT id, tenant_id FROM cases');
  casesOf = new Map();
  for (const row of rows) casesOf.set(row.tenant_id, [...(casesOf.get(row.tenant_id) ?? []), row.id]);
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

/** What a request sends, and which tenant every `uuid` in its answer must belong to. */
function request(i: number): { email: string; tenant: string; query: string; variables?: object } {
  const { email, tenant } = USERS[i % USERS.length] as (typeof USERS)[number];
  const cases = casesOf.get(tenant) as string[];
  const caseId = encodeGlobalID('Case', cases[i % cases.length] as string);
  const size = 1 + (i % 7);
  switch (i % 5) {
    case 0:
      return {
        email,
        tenant,
        query: `{ tenant { uuid } cases(first: ${size}) { edges { node { uuid tasks(first: 3) { edges { node { uuid } } } } } } }`,
      };
    case 1:
      return {
        email,
        tenant,
        query: `{ tasks(first: ${size}, filter: { status: [PENDING, IN_PROGRESS] }) { edges { node { uuid case { uuid } assignee { uuid } } } } }`,
      };
    case 2:
      // A CLINICIAN or ADMIN reading extractedData also writes the `view` audit row, prepared.
      return {
        email,
        tenant,
        query: 'query ($id: ID!) { case(id: $id) { uuid extractedData codes { uuid } createdBy { uuid } } }',
        variables: { id: caseId },
      };
    case 3:
      return {
        email,
        tenant,
        query: `mutation ($input: CreateTaskInput!) { createTask(input: $input) {
          ... on CreateTaskPayload { task { uuid case { uuid } } } ... on Error { message } } }`,
        variables: { input: { caseId, title: `pgbouncer-${i}` } },
      };
    default:
      // Not compiled: the resolvers, through Prisma. 45 cases per tenant in the seed.
      return { email, tenant, query: '{ me { uuid } caseStats { byStatus { count } } }' };
  }
}

interface Outcome {
  /** The request's number (`request(i)`). */
  i: number;
  status: number;
  code?: string;
  retryAfter: string | null;
  problem?: string;
  uuids: string[];
}

async function send(url: string, i: number, tokens: Map<string, string>): Promise<Outcome> {
  const { email, query: text, variables } = request(i);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(email)}` },
    body: JSON.stringify({ query: text, variables }),
  });
  const body = (await res.json()) as {
    data?: Record<string, unknown>;
    errors?: { extensions?: { code?: string } }[];
  };
  const uuids: string[] = [];
  JSON.stringify(body.data ?? null, (key, value) => {
    if (key === 'uuid') uuids.push(value as string);
    return value;
  });
  const outcome: Outcome = {
    i,
    status: res.status,
    code: body.errors?.[0]?.extensions?.code,
    retryAfter: res.headers.get('retry-after'),
    uuids,
  };
  const stats = (body.data?.caseStats as { byStatus: { count: number }[] } | undefined)?.byStatus;
  if (res.status !== 200 || body.errors)
    outcome.problem = `${res.status} ${JSON.stringify(body).slice(0, 300)}`;
  else if (JSON.stringify(body.data).includes('"message"')) outcome.problem = JSON.stringify(body.data);
  else if (stats && stats.reduce((sum, s) => sum + s.count, 0) !== 45)
    outcome.problem = `stats ${JSON.stringify(stats)}`;
  return outcome;
}

/** `count` requests from `first` on, CONCURRENCY at a time; outcomes in the order they were sent. */
async function load(url: string, first: number, count: number): Promise<Outcome[]> {
  const tokens = new Map<string, string>();
  for (const { email } of USERS) {
    tokens.set(
      email,
      await signToken(TEST_JWT_SECRET, seedIdentity(email) as never, { tenantClaim: 'tenant_id' }),
    );
  }
  const outcomes: Outcome[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      outcomes[n] = await send(url, first + n, tokens);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

/** Rows of another tenant in the answers: every `uuid` looked up in the database. */
async function foreignRows(outcomes: Outcome[]): Promise<string[]> {
  const owners = new Map(
    (
      await query<{ id: string; tenant_id: string }>(
        db.ownerUrl,
        `SELECT id, tenant_id FROM cases UNION ALL SELECT id, tenant_id FROM tasks UNION ALL SELECT id, tenant_id FROM users
         UNION ALL SELECT id, tenant_id FROM case_codes UNION ALL SELECT id, id FROM tenants`,
      )
    ).map((r) => [r.id, r.tenant_id]),
  );
  return outcomes.flatMap(({ i, uuids }) => {
    const { tenant } = request(i);
    return uuids.filter((id) => owners.get(id) !== tenant).map((id) => `request ${i}: ${id}`);
  });
}

if (!PGBOUNCER) console.warn('pgbouncer.test.ts skipped: no pgbouncer binary on PATH or in /usr/sbin');

describe.skipIf(!PGBOUNCER)(
  PGBOUNCER
    ? 'behind PgBouncer in transaction mode'
    : 'behind PgBouncer (skipped: no pgbouncer binary on PATH or in /usr/sbin)',
  () => {
    let pgbouncer: Pgbouncer | undefined;
    let server: ServerProcess | undefined;
    afterAll(async () => {
      await server?.stop();
      await pgbouncer?.stop();
    });

    async function start(env: Record<string, string>) {
      await server?.stop();
      await pgbouncer?.stop();
      // Fewer server connections than the server's pool: its connections share PostgreSQL's.
      pgbouncer = await startPgbouncer(PGBOUNCER as string, db.runtimeUrl, {
        default_pool_size: 4,
        query_wait_timeout: 10,
        server_connect_timeout: 5,
      });
      server = await startServerProcess(pgbouncer.pooled(db.runtimeUrl), env);
      return server;
    }

    test('DB_PREPARED_STATEMENTS=false: every response right', async () => {
      const { url, lines: logs } = await start({ DB_PREPARED_STATEMENTS: 'false' });
      const outcomes = await load(url, 0, REQUESTS);
      expect(outcomes.filter((o) => o.problem).map((o) => o.problem)).toEqual([]);
      expect(await foreignRows(outcomes)).toEqual([]);
      expect(logs.filter((l) => l.msg === PREPARED_STATEMENTS_UNSUPPORTED)).toEqual([]);
      console.info(`pgbouncer, DB_PREPARED_STATEMENTS=false: ${outcomes.length} requests, 0 failed`);
    }, 120_000);

    test('named statements (the default): found out, a few 503s at first, then every response right', async () => {
      const { url, lines: logs } = await start({});
      const outcomes = await load(url, REQUESTS, REQUESTS);
      const failed = outcomes.filter((o) => o.problem);
      const sent = failed.map((f) => f.i - REQUESTS);
      const lastFailed = Math.max(-1, ...sent);
      for (const failure of failed) {
        expect(failure, failure.problem).toMatchObject({
          status: 503,
          code: 'SERVICE_UNAVAILABLE',
          retryAfter: '5',
        });
      }
      // Only requests already running when the first failure turned named statements off. (With
      // PgBouncer 1.24+, whose max_prepared_statements defaults to 200, none fails.)
      expect(failed.length).toBeLessThanOrEqual(CONCURRENCY);
      expect(lastFailed - Math.min(...sent, lastFailed)).toBeLessThan(2 * CONCURRENCY);
      expect(lastFailed).toBeLessThan(100);
      expect(logs.filter((l) => l.msg === PREPARED_STATEMENTS_UNSUPPORTED)).toHaveLength(
        failed.length > 0 ? 1 : 0,
      );
      const after = await load(url, 2 * REQUESTS, REQUESTS);
      expect(after.filter((o) => o.problem).map((o) => o.problem)).toEqual([]);
      expect(await foreignRows([...outcomes, ...after].filter((o) => !o.problem))).toEqual([]);
      const codes = new Map<string, number>();
      for (const f of failed)
        codes.set(`${f.status} ${f.code}`, (codes.get(`${f.status} ${f.code}`) ?? 0) + 1);
      console.info(
        `pgbouncer, named statements: ${outcomes.length} requests, ${failed.length} failed ` +
          `(${[...codes].map(([code, n]) => `${code}: ${n}`).join(', ') || 'none'}), all among the first ` +
          `${lastFailed + 1} sent; then ${after.length} more requests, 0 failed`,
      );
    }, 120_000);
  },
);
