import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type ListeningServer, listen } from '../helpers/listening.js';

// Clients that hold connections without finishing a request, or open many: each is bounded
// (src/server.ts), so that they cannot hold the server's sockets, file descriptors and probes.

let db: TestDatabase;
let server: ListeningServer;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await listen(db.runtimeUrl, { MAX_CONNECTIONS: '5', LOG_LEVEL: 'silent' });
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

function connect(): Promise<net.Socket> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

const closed = (socket: net.Socket) =>
  new Promise<number>((resolve) => {
    const started = Date.now();
    socket.on('error', () => {});
    socket.once('close', () => resolve(Date.now() - started));
  });

test('headers trickled byte by byte: the connection is closed after 10 s (with a 408), not held for minutes', async () => {
  const socket = await connect();
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const done = closed(socket);
  socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => socket.writable && socket.write('X'), 500);
  const ms = await done;
  clearInterval(trickle);
  expect(ms).toBeGreaterThan(9_000);
  expect(ms).toBeLessThan(13_000);
  expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 408/);
}, 20_000);

test('MAX_CONNECTIONS: connections beyond it are closed at once; the server serves again when they go', async () => {
  const held = await Promise.all([0, 1, 2, 3, 4].map(connect));
  const extra = await connect().catch(() => undefined);
  if (extra) expect(await closed(extra)).toBeLessThan(1_000);
  for (const socket of held) socket.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const res = await fetch(`${server.url}/healthz`);
  expect(res.status).toBe(200);
});
