import { readFileSync } from 'node:fs';
import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { signToken } from '../src/auth/jwt.js';

export const SHAPES = ['q1', 'q2', 'q3', 'm1'] as const;
export type Shape = (typeof SHAPES)[number];

export const SHAPE_TITLES: Record<Shape, string> = {
  q1: 'Q1 newest 50 cases with codes, tasks + assignee, creator',
  q2: 'Q2 one case with everything and matching rulesets',
  q3: 'Q3 my 50 open tasks by due date, with their case',
  m1: 'M1 create a task',
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
}

/** One pre-built POST /graphql per context: the load generator cycles through them. */
export function requestsFor(shape: Shape, contexts: RequestContext[]): HttpRequest[] {
  const query = operation(shape);
  return contexts.map((ctx) => ({
    method: 'POST',
    path: '/graphql',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${ctx.token}`,
    },
    body: JSON.stringify({ query, variables: variables(shape, ctx) }),
  }));
}
