import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

// What the server shows a stranger: with introspection off, no error names a field the client did
// not write; CORS is off unless CORS_ORIGINS lists the browser origins allowed.

const TYPO = '{ me { emial } }';
const ENUM_TYPO = 'query ($status: [CaseStatus!]) { cases(filter: { status: $status }) { totalCount } }';

describe('field suggestions follow GRAPHQL_INTROSPECTION', () => {
  let open: TestApp;
  let closed: TestApp;
  beforeAll(async () => {
    [open, closed] = await Promise.all([
      startTestApp({ seed: false }),
      startTestApp({ env: { GRAPHQL_INTROSPECTION: 'false' } }),
    ]);
  });
  afterAll(async () => {
    await open?.close();
    await closed?.close();
  });

  test('introspection on (development): graphql-js suggests the field a client may have meant', async () => {
    const res = await open.gql(TYPO, undefined, { email: 'admin@test-clinic.com', authorization: undefined });
    expect(res.body.errors?.[0]?.message).toBe(
      'Cannot query field "emial" on type "User". Did you mean "email"?',
    );
  });

  test('introspection off: validation errors name only what the client wrote', async () => {
    const res = await closed.gql(TYPO);
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.message)).toEqual(['Cannot query field "emial" on type "User".']);
  });

  test('introspection off: variable coercion errors do not list enum values either', async () => {
    const res = await closed.gql(ENUM_TYPO, { status: 'PENDNG' });
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors?.[0]?.message).not.toMatch(/Did you mean|PENDING/);
    expect(res.body.errors?.[0]?.message).toMatch(/Value "PENDNG" does not exist in "CaseStatus" enum\.$/);
  });
});

describe('CORS', () => {
  let closedCors: TestApp;
  let allowList: TestApp;
  beforeAll(async () => {
    [closedCors, allowList] = await Promise.all([
      startTestApp({ seed: false }),
      startTestApp({ seed: false, env: { CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' } }),
    ]);
  });
  afterAll(async () => {
    await closedCors?.close();
    await allowList?.close();
  });

  const preflight = (app: TestApp, origin: string) =>
    app.fetch('/graphql', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  test('off by default: no origin is allowed, none is reflected', async () => {
    const res = await preflight(closedCors, 'https://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  test('CORS_ORIGINS: a listed origin is allowed for itself (without credentials), any other gets nothing', async () => {
    const allowed = await preflight(allowList, 'https://app.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(allowed.headers.get('vary')).toMatch(/Origin/);
    for (const origin of ['https://evil.example', 'null', 'https://app.example.com.evil.example']) {
      const other = await preflight(allowList, origin);
      expect([origin, other.headers.get('access-control-allow-origin')]).toEqual([origin, null]);
    }
    const second = await preflight(allowList, 'http://localhost:5173');
    expect(second.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  test('with one origin listed, other origins are not told it; responses vary by Origin', async () => {
    const one = await startTestApp({ seed: false, env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const other = await preflight(one, 'https://evil.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const get = await one.fetch('/healthz', { headers: { origin: 'https://app.example.com' } });
      expect(get.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(get.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
      expect(get.headers.get('vary')).toMatch(/Origin/);
    } finally {
      await one.close();
    }
  });
});
