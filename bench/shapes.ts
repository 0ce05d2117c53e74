import { readFileSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { signToken } from '../src/auth/jwt.js';
import { nextWork, recordWork, WORK_SHAPES, type WorkShape } from './work.js';

/** The shapes the peer harness also runs against PostGraphile and the floor. */
export const PEER_SHAPES = ['q1', 'q2', 'q3', 'm1'] as const;
/** With the writes only ours has: M2 and M3 (bench/work.ts). */
export const SHAPES = [...PEER_SHAPES, ...WORK_SHAPES] as const;
export type Shape = (typeof SHAPES)[number];

export const SHAPE_TITLES: Record<Shape, string> = {
  q1: 'Q1 newest 50 cases with codes, tasks + assignee, creator',
  q2: 'Q2 one case with everything and matching rulesets',
  q3: 'Q3 my 50 open tasks by due date, with their case',
  m1: 'M1 create a task',
  m2: 'M2 move a task PENDING ⇄ IN_PROGRESS',
  m3: 'M3 take a task ⇄ give it back',
};

/** The bench's key and token claims: local-only values, the same the peer harness uses. */
export const BENCH_JWT = {
  secret: 'bench-only-hs256-secret-do-not-use-in-production-0123456789',
  issuer: 'bench-auth',
  audience: 'bench-graphql',
  tenantClaim: 'tenant_id',
};
export const BENCH_MEMBER_ID_HASH_KEY = 'bench-only-member-id-hash-key-0123456789';
export const M1_TITLE_PREFIX = 'bench-m1';
/** How production runs the server (package.json `start:prod`, the Dockerfile): the bench does the same. */
export const SERVER_NODE_FLAGS = ['--max-old-space-size=128'];
/** The environment the Dockerfile gives the server besides its configuration. */
export const SERVER_ENV = { MALLOC_ARENA_MAX: '2' };

/** The measured server's environment: production, the bench's keys, on `databaseUrl` with `pool` connections. */
export function benchServerEnv(databaseUrl: string, pool: number): Record<string, string> {
  return {
    ...SERVER_ENV,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DB_POOL_MAX: String(pool),
    JWT_SECRET: BENCH_JWT.secret,
    JWT_ISSUER: BENCH_JWT.issuer,
    JWT_AUDIENCE: BENCH_JWT.audience,
    MEMBER_ID_HASH_KEY: BENCH_MEMBER_ID_HASH_KEY,
  };
}

export function operation(shape: Shape): string {
  return readFileSync(new URL(`queries/${shape}.graphql`, import.meta.url), 'utf8');
}

/** Who sends a request and about what: one per (tenant, user), as in the peer harness. */
export interface RequestContext {
  tenantId: string;
  slug: string;
  userId: string;
  email: string;
  role: string;
  token: string;
  /** A case outside the newest 100 (Q2 reads it). */
  q2CaseId: string;
  /** One of the oldest cases (M1 writes there, so Q1 and Q2 never see M1's rows). */
  m1CaseId: string;
}

/** Every tenant, its first `usersPerTenant` users by email: requests rotate over all of them. */
export async function loadContexts(ownerUrl: string, usersPerTenant = 4): Promise<RequestContext[]> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{
      tenant_id: string;
      slug: string;
      user_id: string;
      email: string;
      auth_id: string;
      role: string;
      slot: number;
      q2: string;
      m1: string;
    }>(
      `SELECT t.id AS tenant_id, t.slug, u.id AS user_id, u.email, u.auth_id, u.role, u.slot,
              (SELECT id FROM cases c WHERE c.tenant_id = t.id
                ORDER BY created_at DESC, id DESC OFFSET 100 + u.slot LIMIT 1) AS q2,
              (SELECT id FROM cases c WHERE c.tenant_id = t.id
                ORDER BY created_at ASC, id ASC OFFSET u.slot LIMIT 1) AS m1
       FROM tenants t
       CROSS JOIN LATERAL (
         SELECT id, email, auth_id, role, (row_number() OVER (ORDER BY email))::int - 1 AS slot
         FROM users WHERE tenant_id = t.id ORDER BY email LIMIT $1
       ) u
       ORDER BY t.slug, u.email`,
      [usersPerTenant],
    );
    return Promise.all(
      rows.map(async (r) => ({
        tenantId: r.tenant_id,
        slug: r.slug,
        userId: r.user_id,
        email: r.email,
        role: r.role,
        token: await signToken(
          BENCH_JWT.secret,
          { authId: r.auth_id, tenantId: r.tenant_id },
          { ...BENCH_JWT, expiresIn: '6h' },
        ),
        q2CaseId: r.q2 ?? r.m1,
        m1CaseId: r.m1,
      })),
    );
  } finally {
    await client.end();
  }
}

export function variables(shape: Shape, ctx: RequestContext): Record<string, unknown> {
  if (shape === 'q2') return { caseId: encodeGlobalID('Case', ctx.q2CaseId) };
  if (shape === 'm1')
    return { caseId: encodeGlobalID('Case', ctx.m1CaseId), title: `${M1_TITLE_PREFIX} ${ctx.slug}` };
  return {};
}

export interface HttpRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
  /** M2 and M3: the body and token of each request are the next of a rotation (autocannon calls this). */
  setupRequest?: (request: object) => HttpRequest;
  /** M2 and M3: where the answer left the task, for the next request on it. */
  onResponse?: (status: number, body: string) => void;
}

const isWork = (shape: Shape): shape is WorkShape => (WORK_SHAPES as readonly string[]).includes(shape);

function post(query: string, token: string, variables: Record<string, unknown>): HttpRequest {
  return {
    method: 'POST',
    path: '/graphql',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  };
}

/**
 * One pre-built POST /graphql per context: the load generator cycles through them. M2 and M3:
 * one request whose every sending is the next of its rotation, whatever the contexts.
 */
export function requestsFor(shape: Shape, contexts: RequestContext[]): HttpRequest[] {
  const query = operation(shape);
  if (isWork(shape)) {
    const onResponse = (_status: number, body: string) => recordWork(shape, body);
    // autocannon passes its own defaults (host, port) in `request`: they stay.
    const setupRequest = (request: object): HttpRequest => {
      const { token, variables } = nextWork(shape);
      return { ...request, ...post(query, token, variables), onResponse };
    };
    // The placeholder is never sent: every sending builds its request with setupRequest.
    return [{ ...post(query, '', {}), setupRequest, onResponse }];
  }
  return contexts.map((ctx) => post(query, ctx.token, variables(shape, ctx)));
}

/** The request as it is sent: the next of its rotation for M2 and M3. */
export function sendable(request: HttpRequest): HttpRequest {
  return request.setupRequest ? request.setupRequest({}) : request;
}

/**
 * The soak's requests: every context's, interleaved. When the shapes hold reads and writes, 80% of
 * the requests are reads and 20% writes (each read 4·W times and each write R times per context,
 * for R reads and W writes), one write after every four reads; otherwise each shape once.
 */
export function mixedRequests(shapes: readonly Shape[], contexts: RequestContext[]): HttpRequest[] {
  const reads = shapes.filter((shape) => shape.startsWith('q'));
  const writes = shapes.filter((shape) => shape.startsWith('m'));
  if (reads.length === 0 || writes.length === 0)
    return contexts.flatMap((ctx) => shapes.flatMap((shape) => requestsFor(shape, [ctx])));
  return contexts.flatMap((ctx) => {
    const readList = Array.from({ length: 4 * writes.length }, () => reads).flat();
    const writeList = Array.from({ length: reads.length }, () => writes).flat();
    const list: Shape[] = [];
    readList.forEach((shape, i) => {
      list.push(shape);
      if (i % 4 === 3) list.push(writeList[(i - 3) / 4] as Shape);
    });
    return list.flatMap((shape) => requestsFor(shape, [ctx]));
  });
}
