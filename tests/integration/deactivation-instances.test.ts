import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/jwt.js';
import { createPrismaClient } from '../../src/db/client.js';
import { stableUuid } from '../../src/db/seed.js';
import { databaseChangeSource } from '../../src/realtime/changes.js';
import { createSeededTestDatabase, TEST_JWT_SECRET } from '../helpers/app.js';
import { firstCaseId, query, type TestDatabase } from '../helpers/db.js';
import { CHANGES, type ChangeResult, CREATE_TASK, post } from '../helpers/realtime.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { type SseSubscription, subscribeSse } from '../helpers/sse.js';

// Deactivation and role changes are immediate everywhere (API.md, "Administration and intake"):
// two server processes on one database, each having verified (and remembered) the user's token;
// an ADMIN acts through one of them, and the other refuses the token on its next request and
// ends the user's open subscriptions, over SSE and graphql-ws.

const TENANT = stableUuid('tenant', 'test-clinic');
const ADMIN = 'admin@test-clinic.com';

let db: TestDatabase;
let caseId: string;
let a: ServerProcess;
let b: ServerProcess;
/** The row id of the user the first test deactivates. */
let deactivatedUser: string;
beforeAll(async () => {
  db = await createSeededTestDatabase();
  caseId = await firstCaseId(db.ownerUrl, TENANT);
  [a, b] = await Promise.all([startServerProcess(db.runtimeUrl), startServerProcess(db.runtimeUrl)]);
}, 90_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.drop();
});

/** POSTs `query` with `authorization` to `server`: the HTTP status and the body. */
async function send(server: ServerProcess, authorization: string, query: string, variables = {}) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { extensions?: { code?: string }; message: string }[];
    },
  };
}

/** The results of a graphql-ws subscription on `server`, and a promise of how it ended. */
function subscribeWs(server: ServerProcess, authorization: string) {
  const results: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }[] = [];
  const client = createClient({
    url: server.url.replace(/^http/, 'ws'),
    connectionParams: { authorization },
    retryAttempts: 0,
    webSocketImpl: WebSocket,
  });
  const ended = new Promise<string>((resolve) => {
    client.subscribe(
      { query: CHANGES },
      {
        next: (result) => results.push(result as never),
        // The server closes the socket of a token it no longer accepts (4401), after the result.
        error: (error) => resolve(`closed ${(error as { code?: number }).code}`),
        complete: () => resolve('complete'),
      },
    );
  });
  return { results, ended, close: () => client.dispose() };
}

const MUTATE_USER = `mutation ($id: ID!, $role: UserRole, $active: Boolean!) {
  updateUser(input: { id: $id, role: $role }) { __typename }
  setUserActive(input: { id: $id, isActive: $active }) { __typename }
}`;

test('a role change and a deactivation through one instance hold on the other at once, and end the user’s subscriptions on both', async () => {
  const authId = `idp|${randomUUID()}`;
  const created = await post<{ createUser: { user: { id: string } } }>(
    a.url,
    ADMIN,
    `mutation ($input: CreateUserInput!) { createUser(input: $input) { ... on CreateUserPayload { user { id } } } }`,
    { input: { email: `${randomUUID()}@test-clinic.com`, role: 'CLINICIAN', authId } },
  );
  const userId = created.data?.createUser.user.id as string;
  deactivatedUser = Buffer.from(userId, 'base64').toString().split(':')[1] as string;
  const authorization = `Bearer ${await signToken(TEST_JWT_SECRET, { authId, tenantId: TENANT }, { tenantClaim: 'tenant_id' })}`;
  const readExtracted = '{ cases(first: 1) { edges { node { extractedData } } } }';
  const extractedOn = async (server: ServerProcess) =>
    (
      (await send(server, authorization, readExtracted)).body.data as {
        cases: { edges: { node: { extractedData: unknown } }[] };
      }
    ).cases.edges[0]?.node.extractedData;
  // Both instances verify the token and remember it.
  expect(await extractedOn(a)).not.toBeNull();
  expect(await extractedOn(b)).not.toBeNull();

  // A CLINICIAN made STAFF through A: B's next request of the same token has STAFF's rights.
  const demoted = await post(a.url, ADMIN, MUTATE_USER, { id: userId, role: 'STAFF', active: true });
  expect(demoted).toEqual({
    data: {
      updateUser: { __typename: 'UpdateUserPayload' },
      setUserActive: { __typename: 'SetUserActivePayload' },
    },
  });
  expect(await extractedOn(b)).toBeNull();

  // Its subscriptions, on B over SSE and on A over graphql-ws, are live.
  const sse: SseSubscription = await subscribeSse(b.url, authorization.slice('Bearer '.length), CHANGES);
  expect(sse.status).toBe(200);
  const ws = subscribeWs(a, authorization);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the graphql-ws subscription is set up
  const task = await post(a.url, ADMIN, CREATE_TASK, { input: { caseId, title: 'seen by both' } });
  expect(task.errors).toBeUndefined();
  await sse.waitFor(1);
  const deadline = Date.now() + 10_000;
  while (ws.results.length < 1 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  for (const result of [sse.results[0], ws.results[0]]) {
    expect((result?.data as { changes: ChangeResult } | undefined)?.changes.entity).toBe('TASK');
  }

  // Deactivated through A: refused by both at the next request, its subscriptions end on both.
  const deactivated = await post(a.url, ADMIN, MUTATE_USER, { id: userId, role: null, active: false });
  expect(deactivated.errors).toBeUndefined();
  for (const server of [b, a]) {
    const refused = await send(server, authorization, '{ me { id } }');
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  }
  expect(await sse.ended).toBe('complete');
  expect(await ws.ended).toBe('closed 4401');
  for (const results of [sse.results, ws.results]) {
    // The task, then the end: the user's own update and deactivation are not changes of the feed.
    expect(results, JSON.stringify(results)).toHaveLength(2);
    const last = results[1] as { errors?: { message: string; extensions?: { code?: string } }[] };
    expect(last.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['UNAUTHENTICATED', 'Not authenticated: this user was deactivated: their subscriptions have ended'],
    ]);
  }
  ws.close();

  // A new subscription is refused too, and so is the ADMIN's attempt to deactivate themselves.
  const again = await subscribeSse(b.url, authorization.slice('Bearer '.length), CHANGES);
  expect(again.status).toBe(401);
  again.close();

  // Reactivated: the same token is let in again, on both.
  const reactivated = await post(a.url, ADMIN, MUTATE_USER, { id: userId, role: null, active: true });
  expect(reactivated.errors).toBeUndefined();
  for (const server of [a, b]) expect((await send(server, authorization, '{ me { id } }')).status).toBe(200);
}, 60_000);

test('a lagging subscriber’s filtered read (from the database) still finds its own deactivation after it subscribed, and only that', async () => {
  const prisma = createPrismaClient({ url: db.runtimeUrl, poolMax: 1 });
  try {
    const [deactivation] = await query<{ cursor: number }>(
      db.ownerUrl,
      `SELECT cursor::float8 AS cursor FROM events WHERE event_type = 'user.deactivated' AND entity_id = $1`,
      [deactivatedUser],
    );
    const at = deactivation?.cursor as number;
    const source = databaseChangeSource(prisma, 5_000);
    const read = (userId: string, after: number) =>
      source.after(TENANT, 0, 100, {
        upTo: at + 10,
        filter: { entityTypes: new Set(['ruleset']), deactivationOf: { userId, after } },
      });
    const eventTypes = async (userId: string, after: number) =>
      (await read(userId, after)).map((row) => row.eventType);
    expect(await eventTypes(deactivatedUser, at - 1)).toEqual(['user.deactivated']);
    // Subscribed after it (a deactivation before, then a reactivation), or another user's: not read.
    expect(await eventTypes(deactivatedUser, at)).toEqual([]);
    expect(await eventTypes(stableUuid('test-clinic', 'user', 'staff'), 0)).toEqual([]);
  } finally {
    await prisma.$disconnect();
  }
});
