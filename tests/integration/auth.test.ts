import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from '../helpers/app.js';

const TENANT = stableUuid('tenant', 'test-clinic');
const key = new TextEncoder().encode(TEST_JWT_SECRET);
const claims = { sub: 'seed|admin@test-clinic.com', tenant_id: TENANT };

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

const cases: [string, () => Promise<string | null>, RegExp][] = [
  ['no Authorization header', async () => null, /missing Authorization header/],
  ['not a Bearer header', async () => 'Basic dXNlcjpwdw==', /not "Bearer <token>"/],
  ['a malformed token', async () => 'Bearer not.a.jwt', /malformed token/],
  [
    'a bad signature',
    async () =>
      `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-that-is-32-bytes-long!!'))}`,
    /signature verification failed/,
  ],
  [
    'an expired token',
    async () =>
      `Bearer ${await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(key)}`,
    /token expired/,
  ],
  [
    'a token without exp',
    async () => `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key)}`,
    /claim "exp"/,
  ],
  [
    'a token not yet valid',
    async () =>
      `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setNotBefore('10m').setExpirationTime('1h').sign(key)}`,
    /not yet valid/,
  ],
  [
    'alg none',
    async () => `Bearer ${new UnsecuredJWT(claims).setExpirationTime('1h').encode()}`,
    /algorithm not allowed|malformed/,
  ],
  [
    'HS512 instead of HS256',
    async () =>
      `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).setExpirationTime('1h').sign(key)}`,
    /algorithm not allowed/,
  ],
  [
    'a tenant claim that is not a UUID',
    async () =>
      `Bearer ${await new SignJWT({ ...claims, tenant_id: 'test-clinic' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key)}`,
    /claim "tenant_id"/,
  ],
  [
    'an unknown user',
    async () =>
      `Bearer ${await signToken(TEST_JWT_SECRET, { authId: 'nobody', tenantId: TENANT }, { tenantClaim: 'tenant_id' })}`,
    /no active user with this subject in this tenant/,
  ],
  [
    // The request's opening carries the subject in its SQL text; U+0000 would cut it short, and the
    // protocol error read as a database outage (a 503).
    'a subject holding U+0000',
    async () =>
      `Bearer ${await signToken(TEST_JWT_SECRET, { authId: "seed|admin@test-clinic.com\u0000', 1); --", tenantId: TENANT }, { tenantClaim: 'tenant_id' })}`,
    /claim "sub" holds U\+0000/,
  ],
  [
    'a subject quoting SQL',
    async () =>
      `Bearer ${await signToken(TEST_JWT_SECRET, { authId: "x', 5000); SELECT 1; --\\'", tenantId: TENANT }, { tenantClaim: 'tenant_id' })}`,
    /no active user with this subject in this tenant/,
  ],
];

test.each(cases)(
  '%s: 401 UNAUTHENTICATED naming the failed check, never the token',
  async (_name, header, reason) => {
    const authorization = await header();
    const res = await app.gql(`{ me { email } }`, {}, { authorization });
    expect(res.status).toBe(401);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(res.body.errors?.[0]?.message).toMatch(reason);
    const token = authorization?.split(' ')[1];
    if (token) expect(JSON.stringify(res.body)).not.toContain(token);
  },
);

test('an unauthenticated request learns nothing about the schema, even from an invalid document', async () => {
  const res = await app.gql(`{ casez { id } }`, {}, { authorization: null });
  expect(res.status).toBe(401);
  expect(JSON.stringify(res.body)).not.toMatch(/casez|Did you mean/);
});

test('GET /graphql from a browser serves GraphiQL without a token', async () => {
  const res = await app.fetch('/graphql', { headers: { accept: 'text/html' } });
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('GraphiQL');
});

test('a verified token is remembered by its whole text: the same claims under another signature are still refused', async () => {
  const good = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(key);
  const [header, payload] = good.split('.');
  const forged = `${header}.${payload}.${'A'.repeat(43)}`;
  for (let i = 0; i < 2; i++) {
    expect((await app.gql(`{ me { email } }`, {}, { authorization: `Bearer ${good}` })).status).toBe(200);
    const res = await app.gql(`{ me { email } }`, {}, { authorization: `Bearer ${forged}` });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.message).toMatch(/signature verification failed/);
  }
});

test('a remembered token is refused once it expires', async () => {
  // Accepted until exp + the 5 s clock tolerance, as jose accepts it.
  const exp = Math.floor(Date.now() / 1000) - 3;
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp)
    .sign(key);
  expect((await app.gql(`{ me { email } }`, {}, { authorization: `Bearer ${token}` })).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, (exp + 5) * 1000 - Date.now() + 50));
  const res = await app.gql(`{ me { email } }`, {}, { authorization: `Bearer ${token}` });
  expect(res.status).toBe(401);
  expect(res.body.errors?.[0]?.message).toMatch(/token expired/);
});
