import { afterAll, beforeAll, expect, test } from 'vitest';
import WebSocket from 'ws';
import { createPrismaClient } from '../../src/db/client.js';
import { seedDatabase } from '../../src/db/seed.js';
import { TEST_MEMBER_ID_HASH_KEY } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { CHANGES, tokenFor } from '../helpers/realtime.js';
import { startServerProcess } from '../helpers/server-process.js';
import { subscribeSse } from '../helpers/sse.js';

// Review: SIGTERM with a subscription open over graphql-ws, as API.md promises for every stream
// ("On SIGTERM open streams are completed, not cut"), and websocket.ts for the socket (1001).

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  const owner = createPrismaClient({ url: db.ownerUrl, poolMax: 1 });
  await seedDatabase(owner, { memberIdHashKey: TEST_MEMBER_ID_HASH_KEY });
  await owner.$disconnect();
}, 60_000);
afterAll(() => db?.drop());

test('SIGTERM: a graphql-ws subscription gets `complete`, then its socket closes with 1001', async () => {
  const server = await startServerProcess(db.runtimeUrl);
  try {
    // A socket older than the keep-alive timeout (5 s), as most are.
    const ws = new WebSocket(server.url.replace('http', 'ws'), 'graphql-transport-ws');
    const messages: { id?: string; type: string }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${await tokenFor('admin@test-clinic.com')}` },
      }),
    );
    while (!messages.some((m) => m.type === 'connection_ack')) await new Promise((r) => setTimeout(r, 20));
    ws.send(JSON.stringify({ id: 'feed', type: 'subscribe', payload: { query: CHANGES } }));
    const sse = await subscribeSse(server.url, await tokenFor('staff@test-clinic.com'), CHANGES);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const signalled = Date.now();
    const exited = server.exited;
    server.child.kill('SIGTERM');
    const code = await closed;
    const { at } = await exited;
    console.log(JSON.stringify({ code, messages, sse: await sse.ended, exitMs: at - signalled }));
    expect(await sse.ended).toBe('complete');
    expect(messages).toContainEqual({ id: 'feed', type: 'complete' });
    expect(code).toBe(1001);
  } finally {
    server.kill();
  }
}, 60_000);

test('SIGTERM: a socket whose peer never answers the close frame does not hold the exit', async () => {
  const server = await startServerProcess(db.runtimeUrl);
  try {
    const ws = new WebSocket(server.url.replace('http', 'ws'), 'graphql-transport-ws');
    const messages: { type: string }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(
      JSON.stringify({
        type: 'connection_init',
        payload: { authorization: `Bearer ${await tokenFor('admin@test-clinic.com')}` },
      }),
    );
    while (!messages.some((m) => m.type === 'connection_ack')) await new Promise((r) => setTimeout(r, 20));
    ws.send(JSON.stringify({ id: 'feed', type: 'subscribe', payload: { query: CHANGES } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The peer stops reading: it never sees the close frame, so never answers it.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code, at } = await server.exited;
    expect(code).toBe(0);
    expect(at - signalled).toBeLessThan(5_000);
    ws.terminate();
  } finally {
    server.kill();
  }
}, 60_000);
