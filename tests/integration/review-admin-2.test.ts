import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { stableUuid } from '../../src/db/seed.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';
import {
  createUserAsAdmin,
  holdLock,
  holdTenantWrites,
  rootResult,
  waitForLockWaiters,
} from '../helpers/users.js';

// Second review of issue 16: the review fixes (912ae62, bb7c024, 4f77341) tried as an attacker,
// an operator and a newcomer. Each test asserts what API.md and docs/security.md promise; each
// one failed on the reviewed build (main at 4f77341).

const _TENANT = stableUuid('tenant', 'test-clinic');
const ADMIN = 'admin@test-clinic.com';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { MAX_SUBSCRIPTIONS_PER_USER: '2' } });
});
afterAll(async () => {
  await new Promise((resolve) => (app?.http.listening ? app.http.close(resolve) : resolve(undefined)));
  await app?.close();
});

const UPDATE_USER = `mutation ($input: UpdateUserInput!) { updateUser(input: $input) { __typename } }`;
const newUser = (role: string) => createUserAsAdmin(app, role);

async function roleOf(uuid: string): Promise<string | undefined> {
  const [row] = await query<{ role: string }>(app.db.ownerUrl, 'SELECT role FROM users WHERE id = $1', [
    uuid,
  ]);
  return row?.role;
}

describe('a request admitted before its user was demoted', () => {
  // The events trigger lets a user's change of their own row through whatever their role became
  // (so that an ADMIN may step down). That exemption also lets an ADMIN's in-flight
  // `updateUser(self, role: ADMIN)`, queued behind another ADMIN's demotion of them, commit after
  // the demotion: the demotion is silently undone, by a request that ran with a role its user no
  // longer had ("A role change applies from the user's next request").
  test('an ADMIN demoted while their own updateUser(role: ADMIN) waits stays demoted', async () => {
    const demoted = await newUser('ADMIN');
    const gate = await holdTenantWrites(app);
    const demotion = app.gql(UPDATE_USER, { input: { id: demoted.id, role: 'STAFF' } }, { email: ADMIN });
    await waitForLockWaiters(app, 1);
    const undo = app.gql(
      UPDATE_USER,
      { input: { id: demoted.id, role: 'ADMIN' } },
      { authorization: demoted.authorization },
    );
    await waitForLockWaiters(app, 2);
    await gate.release();
    const [demote, undone] = await Promise.all([demotion, undo]);
    expect(rootResult(demote.body)).toBe('UpdateUserPayload');
    expect({ undo: rootResult(undone.body), role: await roleOf(demoted.uuid) }).toEqual({
      undo: expect.stringMatching(/^(TRANSACTION_CONFLICT|FORBIDDEN)$/),
      role: 'staff',
    });
  });
});

/** Opens a graphql-ws socket and sends connection_init with `authorization`. */
async function initSocket(authorization: string): Promise<WebSocket> {
  const origin = app.http.listening
    ? `http://127.0.0.1:${(app.http.address() as { port: number }).port}`
    : await listenLocally(app);
  const ws = new WebSocket(`${origin.replace('http:', 'ws:')}/graphql`, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
  return ws;
}

/** The first thing the server does with a socket: its first message's type, or its close code. */
function firstAnswer(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (message) => resolve((JSON.parse(message.toString()) as { type: string }).type));
    ws.once('close', (code) => resolve(String(code)));
  });
}

describe('graphql-ws connection_init', () => {
  // The user is now looked up at connection_init, between the token check and the count of the
  // user's sockets (MAX_SUBSCRIPTIONS_PER_USER). A socket that closes while the lookup runs is
  // still counted when the lookup returns, and its `close` listener is added after the close
  // happened: the count never goes down. A client that drops its connection during a slow moment
  // of the database (or an attacker holding the token) locks the user out of realtime on that
  // instance until it restarts (4429 "Too many sockets" with no socket open).
  test('a socket closed while its user is looked up does not keep a place among the user’s sockets', async () => {
    const user = await newUser('STAFF');
    const slowDatabase = await holdLock(app, 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const dropped = await Promise.all([initSocket(user.authorization), initSocket(user.authorization)]);
    await waitForLockWaiters(app, 2);
    await Promise.all(
      dropped.map(
        (ws) =>
          new Promise((resolve) => {
            ws.once('close', resolve);
            ws.close(1000);
          }),
      ),
    );
    // Let the server see both closes before the lookups return.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await slowDatabase.release();
    // Both lookups return (no socket left to answer): then a fresh socket of the same user.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fresh = await initSocket(user.authorization);
    const answer = await firstAnswer(fresh);
    fresh.close(1000);
    expect(answer).toBe('connection_ack');
  });
});

describe('an operation of several mutations', () => {
  // An ADMIN (another one remains) steps down and, in the same operation, adds a colleague. The
  // events trigger compares the role begin_request recorded with the role the first mutation just
  // wrote, and refuses the second: TRANSACTION_CONFLICT "nothing was written: send it again", and
  // data null rolls the whole request back, so sending it again meets the same state and the same
  // refusal, forever (a client retrying conflicts as docs/clients.md advises loops). API.md: "A role
  // change applies from the user's next request", so the rest of this one keeps the role it had;
  // at the least the refusal must not be one that asks to be retried.
  test('an ADMIN who steps down and then creates a user in the same operation: both are written, the next request is a CLINICIAN’s', async () => {
    const stepping = await newUser('ADMIN');
    const operation = `mutation ($me: ID!, $input: CreateUserInput!) {
      stepDown: updateUser(input: { id: $me, role: CLINICIAN }) { __typename }
      addColleague: createUser(input: $input) { __typename } }`;
    const variables = {
      me: stepping.id,
      input: { email: `${randomUUID()}@test-clinic.com`, role: 'STAFF', authId: `review2|${randomUUID()}` },
    };
    const first = await app.gql(operation, variables, { authorization: stepping.authorization });
    // The rest of the operation keeps the role the request was admitted with; the next request has
    // the new one (a CLINICIAN may not create users).
    expect(first.body).toEqual({
      data: {
        stepDown: { __typename: 'UpdateUserPayload' },
        addColleague: { __typename: 'CreateUserPayload' },
      },
    });
    expect(await roleOf(stepping.uuid)).toBe('clinician');
    const again = await app.gql(operation, variables, { authorization: stepping.authorization });
    expect(again.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});
