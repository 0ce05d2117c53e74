import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const TENANT = stableUuid('tenant', 'test-clinic');
const SUBJECT = 'seed|admin@test-clinic.com';
const ME = /* GraphQL */ `{ me { email } }`;
/** Short so that the tests can wait it out; the server's default is 30 s. */
const COOLDOWN_MS = 1_000;

interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  /** The public key as the issuer publishes it in its JWKS. */
  jwk: JWK;
  /** The public key as JWT_PUBLIC_KEY takes it. */
  pem: string;
}

async function testKey(alg: string, kid: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, jwk, pem: await exportSPKI(publicKey) };
}

function sign(
  key: { alg: string; kid?: string; privateKey: CryptoKey | Uint8Array },
  claims: JWTPayload = { tenant_id: TENANT },
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, ...(key.kid ? { kid: key.kid } : {}) })
    .setSubject(SUBJECT)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key.privateKey);
}

/** HS/RS confusion: an HS256 token whose "secret" is the public key's PEM, known to anyone. */
function signWithPublicPem(key: TestKey): Promise<string> {
  return sign({ alg: 'HS256', kid: key.kid, privateKey: new TextEncoder().encode(key.pem) });
}

async function expectAccepted(app: TestApp, token: string): Promise<void> {
  const res = await app.gql(ME, {}, { authorization: `Bearer ${token}` });
  expect(res.body.errors).toBeUndefined();
  expect(res.status).toBe(200);
  expect(res.body.data).toEqual({ me: { email: 'admin@test-clinic.com' } });
}

/** Every refusal: 401, one error, UNAUTHENTICATED, the failed check named, the token never echoed. */
async function expectRefused(app: TestApp, token: string, reason: RegExp): Promise<void> {
  const res = await app.gql(ME, {}, { authorization: `Bearer ${token}` });
  expect(res.status).toBe(401);
  expect(res.body.data ?? null).toBeNull();
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  expect(res.body.errors?.[0]?.message).toMatch(reason);
  expect(JSON.stringify(res.body)).not.toContain(token);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface JwksServer {
  url: string;
  /** Served as they are at each request: push to rotate. */
  keys: JWK[];
  fetches: number;
  /** While true, the server answers 503, like an issuer that is down. */
  failing: boolean;
  close(): Promise<void>;
}

async function serveJwks(keys: JWK[]): Promise<JwksServer> {
  const server = createServer((_request, response) => {
    jwks.fetches += 1;
    if (jwks.failing) {
      response.writeHead(503).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys }));
  });
  const jwks: JwksServer = {
    url: '',
    keys,
    fetches: 0,
    failing: false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwks.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return jwks;
}

describe('JWT_JWKS_URL: keys from the issuer, cached, rotated, never hammered', () => {
  let jwks: JwksServer;
  let app: TestApp;
  let keys: TestKey[];

  beforeAll(async () => {
    keys = await Promise.all([testKey('RS256', 'rsa-1'), testKey('ES256', 'ec-1'), testKey('EdDSA', 'ed-1')]);
    jwks = await serveJwks(keys.map((key) => key.jwk));
    app = await startTestApp({ jwt: { jwksUrl: jwks.url, jwksCooldownMs: COOLDOWN_MS } });
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  test('RS256, ES256 and EdDSA tokens are accepted; the set is fetched once and then cached', async () => {
    for (const key of keys) await expectAccepted(app, await sign(key));
    expect(jwks.fetches).toBe(1);
  });

  test('a key added to the JWKS while the server runs is used without a restart (one refetch)', async () => {
    await sleep(COOLDOWN_MS + 100); // an unknown kid refetches only once the cooldown is over
    const rotated = await testKey('RS256', 'rsa-2');
    jwks.keys.push(rotated.jwk);
    const before = jwks.fetches;
    await expectAccepted(app, await sign(rotated));
    await expectAccepted(app, await sign(rotated));
    expect(jwks.fetches - before).toBe(1);
  });

  test('a flood of unknown kids refetches once per cooldown, and every such token is refused', async () => {
    await sleep(COOLDOWN_MS + 100);
    const stranger = await testKey('ES256', 'unused');
    const before = jwks.fetches;
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sign({ ...stranger, kid: `unknown-${i}` })),
    );
    await Promise.all(flood.map((token) => expectRefused(app, token, /no signing key matches/)));
    for (const token of flood.slice(0, 10)) await expectRefused(app, token, /no signing key matches/);
    expect(jwks.fetches - before).toBe(1);
  });

  test('HS256 signed with the RSA public key PEM, and alg none: refused before any key lookup', async () => {
    const rsa = keys[0] as TestKey;
    const before = jwks.fetches;
    await expectRefused(app, await signWithPublicPem(rsa), /algorithm not allowed/);
    const unsigned = new UnsecuredJWT({ tenant_id: TENANT }).setSubject(SUBJECT).setExpirationTime('5m');
    await expectRefused(app, unsigned.encode(), /algorithm not allowed|malformed/);
    expect(jwks.fetches).toBe(before);
  });

  test('a token signed by a key that is not in the JWKS is refused, even under a known kid', async () => {
    const impostor = await testKey('RS256', 'rsa-1');
    await expectRefused(app, await sign(impostor), /signature verification failed/);
  });

  test('while the JWKS cannot be fetched, a new kid is refused and cached keys keep working; one fetch per cooldown', async () => {
    await sleep(COOLDOWN_MS + 100);
    const newcomer = await testKey('EdDSA', 'ed-2');
    jwks.keys.push(newcomer.jwk);
    jwks.failing = true;
    const before = jwks.fetches;
    try {
      // The first refusal comes from a failed fetch; it starts a cooldown, so the others are
      // refused at once instead of each waiting for another failing fetch.
      for (let i = 0; i < 5; i++)
        await expectRefused(app, await sign(newcomer), /signing keys could not be fetched/);
      await expectAccepted(app, await sign(keys[0] as TestKey));
      expect(jwks.fetches - before).toBe(1);
    } finally {
      jwks.failing = false;
    }
    await sleep(COOLDOWN_MS + 100);
    await expectAccepted(app, await sign(newcomer)); // the issuer is back: fetched again after the cooldown
  });

  test('one verification per request: a refused request fetches the keys once, not once per plugin', async () => {
    const uncached = await startTestApp({ jwt: { jwksUrl: jwks.url, jwksCooldownMs: 1 } });
    jwks.failing = true;
    try {
      const token = await sign(await testKey('EdDSA', 'ed-3'));
      for (let i = 1; i <= 2; i++) {
        await sleep(10); // past the 1 ms cooldown
        const before = jwks.fetches;
        await expectRefused(uncached, token, /signing keys could not be fetched/);
        // Past the cooldown, each request is its own verification, and only one.
        expect(jwks.fetches - before).toBe(1);
      }
    } finally {
      jwks.failing = false;
      await uncached.close();
    }
  });
});

const publicKeyCases: {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  /** A token from a key of the same type, under an algorithm this key source must not accept. */
  otherAlgorithm?: [string, (key: TestKey) => Promise<string>];
}[] = [
  {
    alg: 'RS256',
    otherAlgorithm: [
      'PS256 signed with the same RSA key',
      async (key) => {
        const pkcs8 = await exportPKCS8(key.privateKey);
        return sign({ alg: 'PS256', privateKey: await importPKCS8(pkcs8, 'PS256') });
      },
    ],
  },
  {
    alg: 'ES256',
    otherAlgorithm: ['ES384 signed with a P-384 key', async () => sign(await testKey('ES384', 'x'))],
  },
  { alg: 'EdDSA' },
];

describe.each(publicKeyCases)('JWT_PUBLIC_KEY holding an $alg key', ({ alg, otherAlgorithm }) => {
  let key: TestKey;
  let app: TestApp;

  beforeAll(async () => {
    key = await testKey(alg, 'configured');
    app = await startTestApp({ jwt: { publicKey: key.pem } });
  });
  afterAll(() => app?.close());

  test(`an ${alg} token signed by the matching private key is accepted`, async () => {
    await expectAccepted(app, await sign(key));
  });

  test('HS256 signed with the public key PEM as the secret is refused (HS/RS confusion)', async () => {
    await expectRefused(app, await signWithPublicPem(key), /algorithm not allowed/);
  });

  test(`an ${alg} token signed by another key is refused`, async () => {
    await expectRefused(app, await sign(await testKey(alg, 'configured')), /signature verification failed/);
  });

  if (otherAlgorithm) {
    const [name, signOther] = otherAlgorithm;
    test(`the right key type, another algorithm (${name}) is refused`, async () => {
      await expectRefused(app, await signOther(key), /algorithm not allowed/);
    });
  }
});

describe('JWT_ISSUER and JWT_AUDIENCE, with a namespaced tenant claim (JWT_TENANT_CLAIM)', () => {
  const ISSUER = 'https://issuer.example/';
  const AUDIENCE = 'prior-auth-api';
  const CLAIM = 'https://prior-auth.example/tenant_id';
  let key: TestKey;
  let app: TestApp;

  beforeAll(async () => {
    key = await testKey('RS256', 'configured');
    app = await startTestApp({
      jwt: { publicKey: key.pem, issuer: ISSUER, audience: AUDIENCE, tenantClaim: CLAIM },
    });
  });
  afterAll(() => app?.close());

  test('the configured iss, an aud list that contains the audience, the namespaced claim: accepted', async () => {
    await expectAccepted(
      app,
      await sign(key, { iss: ISSUER, aud: [AUDIENCE, 'other-api'], [CLAIM]: TENANT }),
    );
  });

  test.each<[string, JWTPayload, RegExp]>([
    [
      'another issuer',
      { iss: 'https://other.example/', aud: AUDIENCE, [CLAIM]: TENANT },
      /claim "iss" does not match/,
    ],
    ['another audience', { iss: ISSUER, aud: 'other-api', [CLAIM]: TENANT }, /claim "aud" does not match/],
    ['no issuer', { aud: AUDIENCE, [CLAIM]: TENANT }, /claim "iss" is missing/],
    ['no audience', { iss: ISSUER, [CLAIM]: TENANT }, /claim "aud" is missing/],
    [
      'the tenant under the default claim name only',
      { iss: ISSUER, aud: AUDIENCE, tenant_id: TENANT },
      /claim "https:\/\/prior-auth\.example\/tenant_id" must be the tenant's UUID/,
    ],
  ])('%s: 401 naming the claim', async (_name, claims, reason) => {
    await expectRefused(app, await sign(key, claims), reason);
  });
});
