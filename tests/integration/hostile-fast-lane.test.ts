import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { type HostileRequest, hostileRequests } from '../hostile/requests.js';
import { roleTokens, type Send, sendAll, type Tokens } from '../hostile/run.js';

// The fast lane (src/fast-lane.ts) serves an operation yoga has run compiled once, with new
// variables, straight from node:http. The hostile table's queries whose value is a nullable
// variable, over a real socket, after each operation was admitted with that variable left out:
// the lane must hand every hostile value to yoga, whose answer is the table's.

/** `query Hostile($v: T)` with a nullable T: the operation runs, and is admitted, without it. */
const nullableVariable = (request: HostileRequest) =>
  /^query Hostile\(\$v: [^)!]+\)/.test((request.body as { query?: string }).query ?? '');
const REQUESTS = hostileRequests(schema).filter(
  (request) => !request.mutation && request.as === 'ADMIN' && nullableVariable(request),
);

let app: TestApp;
let tokens: Tokens;
let send: Send;
beforeAll(async () => {
  app = await startTestApp();
  tokens = await roleTokens(app);
  await new Promise<void>((resolve) => app.http.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(app.http.address() as AddressInfo).port}`;
  send = (path, init) => fetch(`${origin}${path}`, init);
});
afterAll(async () => {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

test('hostile variables of operations the lane serves get the table’s answers, from yoga', async () => {
  const operations = [...new Set(REQUESTS.map((request) => (request.body as { query: string }).query))];
  const plain = (query: string) =>
    send('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.ADMIN}` },
      body: JSON.stringify({ query }),
    });
  for (const query of operations) await plain(query); // yoga runs each, compiled: admitted
  const admitted = app.fastLane?.served ?? 0;
  for (const query of operations) await plain(query);
  const served = (app.fastLane?.served ?? 0) - admitted;
  // Most of them are the lane's now (not all: a field the compiler does not cover stays yoga's).
  expect(served).toBeGreaterThan(operations.length / 2);

  expect(REQUESTS.length).toBeGreaterThan(200);
  const before = app.fastLane?.served;
  expect(await sendAll(send, tokens, REQUESTS)).toEqual([]);
  expect(app.fastLane?.served).toBe(before);
}, 120_000);
