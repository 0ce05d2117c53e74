import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import WebSocket from 'ws';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';
import { CHANGES, tokenFor } from '../helpers/realtime.js';
import { subscribeSse } from '../helpers/sse.js';

// Review of graphql-ws on /graphql (issue 14), driven by hand: raw graphql-transport-ws messages.

const ADMIN = 'admin@test-clinic.com';
const CLINICIAN = 'clinician@test-clinic.com';
const JORDAN = 'jordan@test-clinic.com';

let app: TestApp;
let httpUrl: string;
let wsUrl: string;
beforeAll(async () => {
  app = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_USER: '2' } });
  const origin = await listenLocally(app);
  httpUrl = `${origin}/graphql`;
  wsUrl = `${origin.replace('http:', 'ws:')}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

interface RawSocket {
  ws: WebSocket;
  messages: { id?: string; type: string; payload?: unknown }[];
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  until(predicate: (m: RawSocket['messages'][number]) => boolean, timeoutMs?: number): Promise<void>;
}

async function raw(headers: Record<string, string> = {}): Promise<RawSocket> {
  const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { headers });
  const messages: RawSocket['messages'] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    async until(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!messages.some(predicate)) {
        if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${JSON.stringify(messages)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

async function initialized(email: string): Promise<RawSocket> {
  const socket = await raw();
  socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${await tokenFor(email)}` } });
  await socket.until((m) => m.type === 'connection_ack');
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('an operation before connection_init, a reused id, a malformed message: closed with the protocol codes', async () => {
  const early = await raw();
  early.send({ id: '1', type: 'subscribe', payload: { query: CHANGES } });
  expect((await early.closed).code).toBe(4401);

  const reused = await initialized(ADMIN);
  reused.send({ id: 'a', type: 'subscribe', payload: { query: CHANGES } });
  reused.send({ id: 'a', type: 'subscribe', payload: { query: CHANGES } });
  expect((await reused.closed).code).toBe(4409);

  const malformed = await initialized(ADMIN);
  malformed.send('{"type":"subscribe","id":5}');
  expect((await malformed.closed).code).toBe(4400);

  const silent = await raw();
  expect((await silent.closed).code).toBe(4408); // connection_init within 3 s
});

test('a socket that goes away releases its subscriptions (the per-user limit)', async () => {
  const socket = await initialized(ADMIN);
  socket.send({ id: '1', type: 'subscribe', payload: { query: CHANGES } });
  socket.send({ id: '2', type: 'subscribe', payload: { query: CHANGES } });
  await sleep(300);
  socket.ws.terminate();
  await sleep(300);
  const token = await tokenFor(ADMIN);
  const again = await Promise.all([1, 2].map(() => subscribeSse(httpUrl, token, CHANGES)));
  await sleep(300);
  for (const subscription of again) {
    expect(subscription.results, JSON.stringify(subscription.results)).toEqual([]);
    subscription.close();
  }
});

test('a FORBIDDEN mutation on a socket does not cut the subscriptions it also carries', async () => {
  const socket = await initialized(CLINICIAN);
  socket.send({ id: 'feed', type: 'subscribe', payload: { query: CHANGES } });
  await sleep(200);
  const caseId = (
    (
      await app.gql<{ cases: { edges: { node: { id: string } }[] } }>(
        '{ cases(first: 1) { edges { node { id } } } }',
      )
    ).body.data as { cases: { edges: { node: { id: string } }[] } }
  ).cases.edges[0]?.node.id;
  // deleteCase is ADMIN's: the clinician's mutation is FORBIDDEN (API.md, Roles).
  socket.send({
    id: 'delete',
    type: 'subscribe',
    payload: {
      query: 'mutation ($id: ID!) { deleteCase(input: { id: $id }) { __typename } }',
      variables: { id: caseId },
    },
  });
  await socket.until((m) => m.id === 'delete');
  const answer = socket.messages.find((m) => m.id === 'delete');
  expect(JSON.stringify(answer)).toMatch(/FORBIDDEN/);
  const outcome = await Promise.race([socket.closed, sleep(500).then(() => 'open' as const)]);
  // API.md: 4403 is for "a forbidden subscription"; this socket's subscription was allowed.
  expect(outcome, JSON.stringify(outcome)).toBe('open');
  socket.ws.close();
});

test('a token of a user removed since: refused at connection_init with 4401, not acknowledged', async () => {
  await query(app.db.ownerUrl, "UPDATE users SET auth_id = 'gone|jordan' WHERE email = $1", [JORDAN]);
  try {
    const socket = await raw();
    socket.send({ type: 'connection_init', payload: { authorization: `Bearer ${await tokenFor(JORDAN)}` } });
    const closed = await socket.closed;
    expect(closed).toEqual({
      code: 4401,
      reason: 'Unauthorized: no active user with this subject in this tenant',
    });
    expect(socket.messages).toEqual([]);
  } finally {
    await query(app.db.ownerUrl, 'UPDATE users SET auth_id = $1 WHERE email = $2', [
      `seed|${JORDAN}`,
      JORDAN,
    ]);
  }
});

test('huge connectionParams: refused by the message limit, without an "internal error" on the console', async () => {
  const consoleError = vi.spyOn(console, 'error');
  try {
    const socket = await raw();
    socket.send({ type: 'connection_init', payload: { authorization: 'x', pad: 'y'.repeat(2_000_000) } });
    expect((await socket.closed).code).toBe(1009);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(consoleError).not.toHaveBeenCalled();
  } finally {
    consoleError.mockRestore();
  }
});

test('one user cannot take every connection of the server with idle sockets; the socket over the bound is closed with 4429', async () => {
  // MAX_CONNECTIONS counts HTTP and WebSocket connections together; nothing bounds a user's sockets.
  const limited = await startTestApp({ env: { MAX_CONNECTIONS: '20' } });
  const origin = await listenLocally(limited);
  const sockets: WebSocket[] = [];
  const closeCodes: number[] = [];
  try {
    const token = await tokenFor(CLINICIAN);
    for (let i = 0; i < 20; i++) {
      const ws = new WebSocket(`${origin.replace('http:', 'ws:')}/graphql`, 'graphql-transport-ws');
      ws.on('error', () => {});
      ws.on('close', (code) => closeCodes.push(code));
      sockets.push(ws);
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    }
    await sleep(4_000); // past connectionInitWaitTimeout: the acknowledged sockets stay
    const response = await fetch(`${origin}/healthz`).then(
      (r) => r.status,
      (error: Error) => error.message,
    );
    expect(response).toBe(200);
    // MAX_SUBSCRIPTIONS_PER_USER (10) sockets stay; the others were refused.
    expect(closeCodes).toEqual(Array.from({ length: 10 }, () => 4429));
  } finally {
    for (const ws of sockets) ws.terminate();
    await new Promise((resolve) => limited.http.close(resolve));
    await limited.close();
  }
});
