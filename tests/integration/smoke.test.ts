import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

test('me', async () => {
  const res = await app.gql(/* GraphQL */ `{ me { email role } tenant { slug } cases(first: 2) { totalCount edges { node { payer codes { code } tasks { totalCount edges { node { title } } } createdBy { email } } } } }`);
  console.log(JSON.stringify(res, null, 1).slice(0, 2000));
  expect(res.status).toBe(200);
});
