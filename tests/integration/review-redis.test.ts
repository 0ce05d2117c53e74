import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { CREATE_TASK, post, tokenFor } from '../helpers/realtime.js';
import { subscribeSse } from '../helpers/sse.js';

// Review: REDIS_URL set and Redis down (a redis-server of the test's own, on its own port).

const PORT = 6391;
let redis: ChildProcess | undefined;
let app: TestApp;
let url: string;

const startRedis = async () => {
  redis = spawn('redis-server', ['--port', String(PORT), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
};
const stopRedis = async () => {
  const child = redis;
  redis = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
};

beforeAll(async () => {
  await startRedis();
  app = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${PORT}` } });
  url = `${await listenLocally(app)}/graphql`;
});
afterAll(async () => {
  await stopRedis();
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
});

test('Redis down: mutations still answer and their changes reach the subscribers of their own instance; Redis back, nothing comes twice', async () => {
  const cases = await post<{ cases: { edges: { node: { id: string } }[] } }>(
    url,
    'admin@test-clinic.com',
    '{ cases(first: 1) { edges { node { id } } } }',
  );
  const caseId = cases.data?.cases.edges[0]?.node.id;
  const subscription = await subscribeSse(
    url,
    await tokenFor('staff@test-clinic.com'),
    'subscription { changes { cursor } }',
  );
  await stopRedis();
  const created = await post(url, 'admin@test-clinic.com', CREATE_TASK, {
    input: { caseId, title: 'redis down' },
  });
  expect(created.errors).toBeUndefined();
  // Its own instance needs no Redis to hear of its own commits.
  const [delivered] = await subscription.waitFor(1, 5_000);
  expect(delivered?.errors).toBeUndefined();
  await startRedis();
  // The publication that failed is sent once Redis is back (other instances would read it then);
  // this instance ignores its own message: the change is not delivered twice.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(subscription.results).toHaveLength(1);
  subscription.close();
}, 60_000);
