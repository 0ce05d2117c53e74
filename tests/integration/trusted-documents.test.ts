import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { documentId, requestTrusted } from '../../docs/clients/trusted-documents.js';
import { compiledStats } from '../../src/compiled/index.js';
import {
  CaseListDocument,
  CreateTaskDocument,
  MeDocument,
  WorkQueueChangesDocument,
} from '../generated/graphql/graphql.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';
import { subscribeSse } from '../helpers/sse.js';

// Trusted documents (docs/operations.md): documents by id from the manifests of TRUSTED_DOCUMENTS,
// over POST, GET, SSE and graphql-ws, through the same pipeline as any request; anything else
// refused before it is parsed when only trusted documents run.

const ADMIN = 'admin@test-clinic.com';
const GENERATED_MANIFEST = 'tests/generated/graphql/persisted-documents.json';
/** A document only the "previous client version" has: its own manifest, live beside the current one. */
const OLD_DOCUMENT = 'query OldClientMe { me { id email } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const byId = (text: string) => ({ documentId: `sha256:${sha256(text)}` });

/** Polls `condition` (a state of the server, not a time) until it holds. */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

/** Hook calls of the pipeline's plugins by `plugin.hook`, and the documents actually parsed. */
const calls = new Map<string, number>();
const count = (key: string) => calls.get(key) ?? 0;
const pluginNames = new Set<string>();
function observe(name: string, plugin: object): object {
  pluginNames.add(name);
  const hooks = Object.entries(plugin).map(([hook, value]) => {
    if (typeof value !== 'function') return [hook, value];
    return [
      hook,
      (payload: { setParseFn?: (fn: (...args: unknown[]) => unknown) => void }, ...rest: unknown[]) => {
        calls.set(`${name}.${hook}`, count(`${name}.${hook}`) + 1);
        // useParseLimits replaces the parse function: what it is called with is what is parsed
        // (yoga's parse cache answers without calling it).
        if (name === 'parseLimits' && payload.setParseFn) {
          const setParseFn = payload.setParseFn;
          payload.setParseFn = (fn) =>
            setParseFn((...args: unknown[]) => {
              calls.set('parsed', count('parsed') + 1);
              return fn(...args);
            });
        }
        return value(payload, ...rest);
      },
    ];
  });
  return Object.fromEntries(hooks);
}

const startLines: { level: number; msg: string; documents?: number; only?: boolean }[] = [];
let dir: string;
let only: TestApp;
let open: TestApp;
let url: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'trusted-documents-'));
  const oldManifest = path.join(dir, 'previous-client.json');
  writeFileSync(oldManifest, JSON.stringify({ [sha256(OLD_DOCUMENT)]: OLD_DOCUMENT }));
  const manifests = `${GENERATED_MANIFEST}, ${oldManifest}`;
  only = await startTestApp({
    env: {
      TRUSTED_DOCUMENTS: manifests,
      TRUSTED_DOCUMENTS_ONLY: 'true',
      CORS_ORIGINS: 'http://app.example',
      GRAPHQL_INTROSPECTION: 'false',
    },
    observePlugin: observe,
    logStream: { write: (line: string) => void startLines.push(JSON.parse(line)) },
  });
  open = await startTestApp({
    env: { TRUSTED_DOCUMENTS: manifests, TRUSTED_DOCUMENTS_ONLY: 'false' },
    observePlugin: observe,
  });
  url = `${await listenLocally(only)}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => only?.http.close(resolve));
  await Promise.all([only?.close(), open?.close()]);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  calls.clear();
  only.statements.length = 0;
});

async function send(app: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await app.fetch('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await app.token(ADMIN)}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

async function get(app: TestApp, params: Record<string, string>) {
  const response = await app.fetch(`/graphql?${new URLSearchParams(params)}`, {
    headers: { authorization: `Bearer ${await app.token(ADMIN)}` },
  });
  return { status: response.status, body: await response.text() };
}

const data = (body: string) => JSON.parse(body).data;
const codes = (body: string) =>
  (JSON.parse(body).errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code);
const apollo = (text: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(text) } });
/** A generated document's id (codegen's `__meta__.hash`), bare and as `documentId`. */
const idOf = (document: { __meta__?: { hash?: string } }) => {
  const hash = document.__meta__?.hash ?? '';
  return { hash, documentId: `sha256:${hash}` };
};

test('the start says what it loaded, and warns that GraphiQL’s operations will be refused', () => {
  const examples = Object.keys(JSON.parse(readFileSync(GENERATED_MANIFEST, 'utf8'))).length;
  expect(startLines.find((line) => line.msg === 'trusted documents loaded')).toMatchObject({
    documents: examples + 1,
    only: true,
  });
  const warning = /^GraphiQL is on, but only trusted documents run .*PERSISTED_QUERY_ONLY/;
  expect(startLines.filter((line) => line.level === 40 && warning.test(line.msg))).toHaveLength(1);
});

describe('a document by id', () => {
  const me = idOf(MeDocument);

  test('POST documentId, and Apollo’s extensions.persistedQuery (version 1)', async () => {
    const appendix = await send(only, { documentId: me.documentId });
    expect(appendix.status).toBe(200);
    expect(data(appendix.body).me.email).toBe(ADMIN);
    const apolloForm = await send(only, {
      extensions: { persistedQuery: { version: 1, sha256Hash: me.hash } },
    });
    expect(apolloForm.status).toBe(200);
    expect(data(apolloForm.body)).toEqual(data(appendix.body));
    // Another version than 1 names no document.
    const v2 = await send(only, { extensions: { persistedQuery: { version: 2, sha256Hash: me.hash } } });
    expect([v2.status, codes(v2.body)]).toEqual([400, ['BAD_REQUEST']]);
  });

  test('GET ?documentId=, and GET with Apollo’s extensions; a mutation by GET stays refused', async () => {
    const appendix = await get(only, { documentId: me.documentId });
    expect(appendix.status).toBe(200);
    expect(data(appendix.body).me.email).toBe(ADMIN);
    const apolloForm = await get(only, {
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: me.hash } }),
    });
    expect([apolloForm.status, data(apolloForm.body)]).toEqual([200, data(appendix.body)]);
    const mutation = await get(only, {
      documentId: documentId(CreateTaskDocument),
      variables: JSON.stringify({ input: { caseId: 'x', title: 'x' } }),
    });
    expect(mutation.status).toBe(405);
    expect(count('executor.onExecute')).toBe(2);
  });

  test('both manifests are live: the previous client version’s document and the current one’s', async () => {
    const previous = await send(only, byId(OLD_DOCUMENT));
    expect([previous.status, data(previous.body)?.me.email]).toEqual([200, ADMIN]);
    const current = await send(only, { documentId: me.documentId });
    expect(current.status).toBe(200);
  });

  test('it goes through every plugin, compiled, parsed once and then from the parse cache', async () => {
    const caseList = idOf(CaseListDocument);
    await send(only, { documentId: caseList.documentId, variables: { first: 3 } });
    calls.clear();
    const applied = new Set<string>();
    const executed = compiledStats.executed;
    for (let i = 0; i < 2; i++) {
      const response = await send(
        only,
        { documentId: caseList.documentId, variables: { first: 3 } },
        { origin: 'http://app.example' },
      );
      expect(response.status).toBe(200);
      expect(data(response.body).cases.edges).toHaveLength(3);
      for (const key of calls.keys()) applied.add(key.split('.')[0] ?? '');
    }
    expect(compiledStats.executed - executed).toBe(2);
    expect(count('parsed')).toBe(0);
    expect([...pluginNames].filter((name) => !applied.has(name))).toEqual([]);
  });

  test('the limits apply to it: a page too large is refused by its cost', async () => {
    const response = await send(
      only,
      { documentId: documentId(CaseListDocument), variables: { first: 100_000 } },
      { accept: 'application/graphql-response+json' },
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body).errors[0].message).toMatch(/^Query too costly: .*\(MAX_QUERY_COST\)/);
    expect(only.statements).toEqual([]);
  });

  test('the client recipe (docs/clients/trusted-documents.ts) runs a generated document by its id', async () => {
    const result = await requestTrusted(url, await only.token(ADMIN), MeDocument, {});
    expect(result.errors).toBeUndefined();
    expect(result.data?.me.email).toBe(ADMIN);
  });
});

describe('refused before it is parsed, with 400 and a code', () => {
  const nothingDone = () => {
    expect(count('parsed')).toBe(0);
    expect(count('parseLimits.onParse')).toBe(0);
    expect(count('executor.onExecute') + count('executor.onSubscribe')).toBe(0);
    expect(only.statements).toEqual([]);
  };

  test.each([
    ['an unknown id', { documentId: `sha256:${'0'.repeat(64)}` }],
    ['an id of another algorithm', { documentId: `md5:${'0'.repeat(32)}` }],
    ['an unknown Apollo hash', { extensions: apollo('{ me { id } }') }],
  ])('%s: PERSISTED_QUERY_NOT_FOUND', async (_kind, body) => {
    const response = await send(only, body);
    expect([response.status, codes(response.body)]).toEqual([400, ['PERSISTED_QUERY_NOT_FOUND']]);
    nothingDone();
    const byGet = await get(only, { documentId: `sha256:${'f'.repeat(64)}` });
    expect([byGet.status, codes(byGet.body)]).toEqual([400, ['PERSISTED_QUERY_NOT_FOUND']]);
  });

  test.each([['application/json'], ['application/graphql-response+json'], ['text/event-stream']])(
    'a document as text, accepting %s: PERSISTED_QUERY_ONLY',
    async (accept) => {
      // The text of a trusted document too: only its id is trusted, not whoever sends the text.
      const response = await send(only, { query: '{ me { id } }' }, { accept });
      expect(response.status).toBe(400);
      expect(response.body).toContain('"code":"PERSISTED_QUERY_ONLY"');
      nothingDone();
      const byGet = await get(only, { query: '{ me { id } }' });
      expect([byGet.status, codes(byGet.body)]).toEqual([400, ['PERSISTED_QUERY_ONLY']]);
    },
  );

  test('without a token, the client learns nothing of the manifests: 401 first', async () => {
    const response = await only.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ documentId: documentId(MeDocument) }),
    });
    expect(response.status).toBe(401);
    nothingDone();
  });
});

test('TRUSTED_DOCUMENTS_ONLY=false: ids and texts both run, and share the parse cache', async () => {
  const manifest = JSON.parse(readFileSync(GENERATED_MANIFEST, 'utf8')) as Record<string, string>;
  const meText = manifest[idOf(MeDocument).hash] ?? '';
  const asId = await send(open, { documentId: documentId(MeDocument) });
  expect([asId.status, data(asId.body)?.me.email]).toEqual([200, ADMIN]);
  expect(count('parsed')).toBe(1);
  // The same text sent as text: the parsed document of the id's request serves it.
  const asText = await send(open, { query: meText });
  expect([asText.status, data(asText.body)]).toEqual([200, data(asId.body)]);
  const other = await send(open, { query: '{ me { email } }' });
  expect([other.status, data(other.body)?.me.email]).toEqual([200, ADMIN]);
  expect(count('parsed')).toBe(2);
  const unknown = await send(open, { documentId: `sha256:${'0'.repeat(64)}` });
  expect([unknown.status, codes(unknown.body)]).toEqual([400, ['PERSISTED_QUERY_NOT_FOUND']]);
  const neither = await send(open, {});
  expect([neither.status, codes(neither.body)]).toEqual([400, ['BAD_REQUEST']]);
});

describe('a subscription by id', () => {
  async function createTaskFor(assigneeId: string, title: string) {
    const caseList = await requestTrusted(url, await only.token(ADMIN), CaseListDocument, { first: 1 });
    const caseId = caseList.data?.cases.edges[0]?.node.id ?? '';
    const created = await requestTrusted(url, await only.token(ADMIN), CreateTaskDocument, {
      input: { caseId, title, assigneeId },
    });
    expect(created.data?.createTask.__typename).toBe('CreateTaskPayload');
  }

  test('over SSE: WorkQueueChanges delivers a task created for the viewer', async () => {
    const me = (await requestTrusted(url, await only.token(ADMIN), MeDocument, {})).data?.me.id ?? '';
    await waitUntil(() => only.changeFeed.size === 0);
    const feed = await subscribeSse(
      url,
      await only.token(ADMIN),
      { documentId: idOf(WorkQueueChangesDocument).documentId },
      {
        me,
        after: null,
      },
    );
    try {
      // The subscription is open once the feed holds it: then the change is sure to reach it.
      await waitUntil(() => only.changeFeed.size === 1);
      expect(feed.status).toBe(200);
      expect(feed.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await createTaskFor(me, 'Trusted over SSE');
      const [change] = await feed.waitFor(1);
      expect(change?.errors).toBeUndefined();
      expect(change?.data?.changes).toMatchObject({ kind: 'CREATED', node: { title: 'Trusted over SSE' } });
    } finally {
      feed.close();
    }
  });

  test.each([
    ['documentId', (hash: string) => ({ documentId: `sha256:${hash}` })],
    [
      'Apollo’s extensions',
      (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    ],
  ])('over graphql-ws, by %s; an unknown id is refused with its code', async (_form, idFields) => {
    const me = (await requestTrusted(url, await only.token(ADMIN), MeDocument, {})).data?.me.id ?? '';
    const client = createClient({
      url: url.replace('http:', 'ws:'),
      connectionParams: { authorization: `Bearer ${await only.token(ADMIN)}` },
      retryAttempts: 0,
      webSocketImpl: WebSocket,
    });
    try {
      const hash = idOf(WorkQueueChangesDocument).hash;
      // graphql-ws wants `query` a string: '' when the document goes by id.
      const changes = client.iterate({ query: '', variables: { me, after: null }, ...idFields(hash) });
      await waitUntil(() => only.changeFeed.size === 0);
      const first = changes.next();
      await waitUntil(() => only.changeFeed.size === 1);
      await createTaskFor(me, `Trusted over graphql-ws ${_form}`);
      const { value } = await first;
      expect(value?.errors).toBeUndefined();
      expect(value?.data).toMatchObject({ changes: { kind: 'CREATED' } });
      await changes.return?.();
      const refused = await client
        .iterate({ query: '', ...idFields('0'.repeat(64)) })
        .next()
        .catch((error: unknown) => error);
      expect(JSON.stringify(refused)).toContain('PERSISTED_QUERY_NOT_FOUND');
    } finally {
      await client.dispose();
    }
  });
});
