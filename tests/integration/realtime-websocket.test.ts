import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { CHANGES, type ChangeResult, CREATE_TASK, post, tokenFor } from '../helpers/realtime.js';

// graphql-ws (graphql-transport-ws) on /graphql: the same pipeline as HTTP (API.md, "Realtime").

const ADMIN = 'admin@test-clinic.com';

let app: TestApp;
let httpUrl: string;
let wsUrl: string;
const clients: Client[] = [];
beforeAll(async () => {
  app = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_USER: '2' } });
  const origin = await listenLocally(app);
  httpUrl = `${origin}/graphql`;
  wsUrl = `${origin.replace('http:', 'ws:')}/graphql`;
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

/** A graphql-ws client; `closed` resolves with the close event's code. */
function connect(connectionParams: Record<string, unknown>, headers: Record<string, string> = {}) {
  let closedWith: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    closedWith = resolve;
  });
  const client = createClient({
    url: wsUrl,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    },
    on: { closed: (event) => closedWith((event as { code: number }).code) },
  });
  clients.push(client);
  return { client, closed };
}

async function firstCase(): Promise<string> {
  const result = await post<{ cases: { edges: { node: { id: string } }[] } }>(
    httpUrl,
    ADMIN,
    '{ cases(first: 1) { edges { node { id } } } }',
  );
  return result.data?.cases.edges[0]?.node.id as string;
}

/** Collects an operation's results until it completes or `count` arrived. */
async function take(client: Client, query: string, count: number, variables: Record<string, unknown> = {}) {
  const results: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  }[] = [];
  const iterator = client.iterate({ query, variables });
  try {
    for await (const result of iterator) {
      results.push(result as never);
      if (results.length >= count) break;
    }
  } catch (error) {
    // An `error` message: its errors; a closed socket: its reason.
    results.push({
      errors: Array.isArray(error)
        ? error
        : [{ message: String((error as { reason?: string }).reason ?? error) }],
    });
  } finally {
    await iterator.return?.();
  }
  return results;
}

test('a subscription over graphql-ws: the token in connectionParams or in the upgrade request', async () => {
  const caseId = await firstCase();
  for (const [params, headers] of [
    [{ authorization: `Bearer ${await tokenFor(ADMIN)}` }, {}],
    [{}, { authorization: `Bearer ${await tokenFor(ADMIN)}` }],
  ] as const) {
    const { client } = connect(params, headers);
    const received = take(client, CHANGES, 1);
    // The subscription is open once the server answered a query on the same socket.
    await take(client, '{ me { email } }', 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await post(httpUrl, ADMIN, CREATE_TASK, { input: { caseId, title: 'over the socket' } });
    const [result] = await received;
    expect(result?.errors).toBeUndefined();
    const change = (result?.data as { changes: ChangeResult } | undefined)?.changes;
    expect(change).toMatchObject({ entity: 'TASK', kind: 'CREATED', event: { user: { email: ADMIN } } });
  }
});

test('queries, and the same limits and errors as over HTTP', async () => {
  const { client } = connect({ authorization: `Bearer ${await tokenFor(ADMIN)}` });
  const [me] = await take(client, '{ me { email role } }', 1);
  expect(me?.data).toEqual({ me: { email: ADMIN, role: 'ADMIN' } });
  const deep = `{ me { assignedTasks { edges { node { case { tasks { edges { node { case { tasks { edges { node { id } } } } } } } } } } } } }`;
  const [tooDeep] = await take(client, deep, 1);
  expect(tooDeep?.errors?.[0]?.message).toMatch(/depth/i);
  const [bad] = await take(client, CHANGES, 1, { after: 'forged' });
  expect(bad?.errors?.[0]?.extensions?.code ?? bad?.errors?.[0]?.message).toMatch(/BAD_USER_INPUT|cursor/);
});

test('no token, or a bad one: the socket closes with 4401 and nothing runs', async () => {
  for (const params of [{}, { authorization: 'Bearer not-a-jwt' }]) {
    const { client, closed } = connect(params);
    void take(client, '{ me { email } }', 1);
    expect(await closed).toBe(4401);
  }
});

test('the per-user subscription limit counts WebSocket subscriptions', async () => {
  const { client } = connect({ authorization: `Bearer ${await tokenFor(ADMIN)}` });
  void take(client, CHANGES, 1);
  void take(client, CHANGES, 1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const [refused] = await take(client, CHANGES, 1);
  expect(refused?.errors?.[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
});

test('a token that expires mid-stream closes the socket with 4401', async () => {
  const { client, closed } = connect({ authorization: `Bearer ${await tokenFor(ADMIN, '1s')}` });
  void take(client, CHANGES, 5);
  // exp in 1 s, accepted 5 s more (the clock tolerance).
  expect(await closed).toBe(4401);
}, 15_000);
