import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exampleTabs } from '../../src/graphiql.js';
import { GRAPHIQL_ASSETS_PATH } from '../../src/plugins/graphiql-page.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';

// GraphiQL's page and assets, and `GET /`, over a real socket (src/plugins/graphiql-page.ts,
// src/plugins/root-page.ts). tests/integration/graphiql-browser.test.ts runs the page in Chromium.

const ADMIN = 'admin@test-clinic.com';
const HTML = { accept: 'text/html' };

async function listen(app: TestApp): Promise<string> {
  return listenLocally(app);
}

async function stop(app: TestApp | undefined): Promise<void> {
  await new Promise((resolve) => app?.http.close(resolve));
  await app?.close();
}

/** The JSON of `const options = …` in the page: what GraphiQL is given. */
function pageOptions(html: string): { headers: string; defaultTabs: { query: string; headers: string }[] } {
  const json = /\nconst options = (.*);\n/.exec(html)?.[1];
  if (!json) throw new Error('no GraphiQL options in the page');
  return JSON.parse(json);
}

describe('development: signed in for a browser on this machine', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await startTestApp({ graphiqlSignedInAs: ADMIN });
    base = await listen(app);
  });
  afterAll(() => stop(app));

  test('the page loads nothing from elsewhere and holds the token in every tab', async () => {
    const response = await fetch(`${base}/graphql`, { headers: HTML });
    expect(response.status).toBe(200);
    const html = await response.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) expect(source).toMatch(/^\/graphql\/assets\//);
    expect(html).not.toMatch(/https?:\/\//);
    const options = pageOptions(html);
    const { Authorization: authorization } = JSON.parse(options.headers);
    for (const tab of options.defaultTabs) expect(JSON.parse(tab.headers).Authorization).toBe(authorization);
    // The token the page holds signs in as the admin.
    const me = await app.gql<{ me: { email: string } }>('{ me { email } }', {}, { authorization });
    expect(me.body.data?.me.email).toBe(ADMIN);
    expect(options.defaultTabs[0]?.query).toMatch(/^# The work queue[\s\S]*\nquery CaseList\(/);
  });

  test('without a socket (no peer address to trust) the page holds no token', async () => {
    const html = await (await app.fetch('/graphql', { headers: HTML })).text();
    expect(JSON.parse(pageOptions(html).headers).Authorization).toMatch(/^Bearer <token printed by/);
  });

  test('every asset is served, gzipped when asked, cached for a year; others are 404', async () => {
    const names = ['graphiql.js', 'graphiql.css', 'favicon.ico', 'editor.worker.js', 'json.worker.js'];
    for (const name of [...names, 'graphql.worker.js']) {
      const url = `${base}${GRAPHIQL_ASSETS_PATH}${name}`;
      // Node's fetch asks for gzip and unpacks it: compare with the bytes sent without.
      const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.status, name).toBe(200);
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const bytes = Buffer.from(await plain.arrayBuffer());
      expect(Number(plain.headers.get('content-length'))).toBe(bytes.length);
      const zipped = await app.fetch(`${GRAPHIQL_ASSETS_PATH}${name}`, {
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(zipped.headers.get('content-encoding')).toBe('gzip');
      const unzipped = gunzipSync(Buffer.from(await zipped.arrayBuffer()));
      expect(unzipped.equals(bytes), name).toBe(true);
    }
    const script = await (await fetch(`${base}${GRAPHIQL_ASSETS_PATH}graphiql.js`)).text();
    expect(script).toContain('renderYogaGraphiQL');
    expect(script.length).toBeGreaterThan(1_000_000);
    for (const path of [`${GRAPHIQL_ASSETS_PATH}nope.js`, '/graphql/assets/0.0.1/graphiql.js']) {
      const missing = await fetch(`${base}${path}`);
      expect(missing.status, path).toBe(404);
      expect(missing.headers.get('cache-control')).toBe('no-store');
    }
  });

  test('every tab whose variables name no placeholder runs as it is, on the seeded data', async () => {
    const runnable = exampleTabs().filter((tab) => !tab.variables?.includes('"<'));
    expect(runnable.map((tab) => tab.name)).toEqual(
      expect.arrayContaining(['CaseList', 'Dashboard', 'Me', 'MyTasks', 'CreateCase', 'CreateRuleset']),
    );
    for (const tab of runnable) {
      const { status, body } = await app.gql(tab.query, JSON.parse(tab.variables ?? '{}'));
      expect(status, tab.name).toBe(200);
      expect(body.errors, tab.name).toBeUndefined();
      // A mutation's union answers its payload, not one of its errors.
      for (const value of Object.values(body.data ?? {})) {
        const typename = (value as { __typename?: string }).__typename;
        if (tab.kind === 'mutation') expect(typename, tab.name).toMatch(/Payload$/);
      }
    }
  });

  test('GET / points to /graphql: HTML for a browser, text for the rest', async () => {
    const browser = await fetch(`${base}/`, { headers: HTML });
    expect(browser.status).toBe(200);
    expect(browser.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await browser.text()).toContain('<a href="/graphql">/graphql</a>');
    const curl = await fetch(`${base}/`, { headers: { accept: '*/*' } });
    expect(curl.status).toBe(200);
    expect(curl.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await curl.text();
    expect(text).toMatch(/^Prior-auth API: GraphQL at \/graphql\n/);
    expect(text).toContain('GraphiQL');
    expect((await fetch(`${base}/`, { method: 'HEAD' })).status).toBe(200);
    // Only the root: any other unknown path is still yoga's 404.
    expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
  });
});

describe('production with GRAPHIQL=true', () => {
  let app: TestApp;
  let base: string;
  beforeAll(async () => {
    app = await startTestApp({
      env: { NODE_ENV: 'production', GRAPHIQL: 'true' },
      graphiqlSignedInAs: ADMIN,
    });
    base = await listen(app);
  });
  afterAll(() => stop(app));

  test('the page never holds a token, even from this machine', async () => {
    const html = await (await fetch(`${base}/graphql`, { headers: HTML })).text();
    const options = pageOptions(html);
    expect(JSON.parse(options.headers).Authorization).toMatch(/^Bearer <token printed by/);
    expect(html).not.toContain('Bearer ey');
  });
});

describe('GRAPHIQL=false', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { GRAPHIQL: 'false' }, seed: false });
  });
  afterAll(() => app?.close());

  test('no assets, and GET / does not offer GraphiQL', async () => {
    expect((await app.fetch(`${GRAPHIQL_ASSETS_PATH}graphiql.js`)).status).toBe(404);
    const text = await (await app.fetch('/')).text();
    expect(text).toContain('/graphql');
    expect(text).not.toContain('GraphiQL');
  });
});
