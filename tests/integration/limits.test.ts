import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { getOperationAST, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { measureOperation } from '../../src/plugins/limits.js';
import { schema } from '../../src/schema/index.js';
import { listenLocally, startTestApp, type TestApp } from '../helpers/app.js';

// API.md, "Abuse limits": each limit refuses before execution, with 400 under
// application/graphql-response+json and a message naming the limit and its value.

const LIMITS = loadConfig({}).limits;
const EXAMPLES_DIR = join(import.meta.dirname, '../../docs/examples');

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

/** A refusal before execution: 400, one error naming the limit, no `data`, nothing run. */
async function expectRefused(query: string, message: RegExp, variables?: Record<string, unknown>) {
  app.statements.length = 0;
  const res = await app.gql(query, variables);
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors?.map((e) => e.message)).toEqual([expect.stringMatching(message)]);
  expect(app.statements).toEqual([]);
}

async function expectAccepted(query: string, variables?: Record<string, unknown>) {
  const res = await app.gql(query, variables);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  expect(res.status).toBe(200);
  return res;
}

test('the defaults are those of API.md', () => {
  expect(LIMITS).toEqual({
    depth: 12,
    aliases: 30,
    tokens: 1000,
    cost: 50_000,
    bodyBytes: 1024 * 1024,
    documentBytes: 64 * 1024,
    stringLiteralBytes: 8 * 1024,
  });
});

describe('depth', () => {
  // Each step nests one level: User → TaskConnection → TaskEdge → Task → Case → User → …
  const STEPS = [
    ['assignedTasks(first: 1)', 'totalCount'],
    ['edges', 'cursor'],
    ['node', 'id'],
    ['case', 'id'],
    ['createdBy', 'id'],
  ] as const;
  /** `{ me { … } }` whose longest path has exactly `depth` (≥ 2) fields. */
  const queryOfDepth = (depth: number) => {
    const path = ['me'];
    for (let level = 2; level < depth; level += 1) path.push(STEPS[(level - 2) % STEPS.length]?.[0] ?? '');
    const leaf = depth === 2 ? 'id' : STEPS[(depth - 3) % STEPS.length]?.[1];
    return `{ ${path.join(' { ')} { ${leaf} ${'} '.repeat(path.length)}}`;
  };

  test('the measure counts fields on the longest path', () => {
    for (const depth of [2, 3, 7, 12, 13]) {
      const document = parse(queryOfDepth(depth));
      const operation = getOperationAST(document);
      if (!operation) throw new Error('no operation');
      expect(measureOperation(schema, document, operation, {}).depth).toBe(depth);
    }
  });

  test('12 levels run; 13 are refused naming the limit', async () => {
    await expectAccepted(queryOfDepth(12));
    await expectRefused(queryOfDepth(13), /^Query too deep: depth 13, the limit is 12 \(MAX_QUERY_DEPTH\)$/);
  });

  test('under application/json the refusal is 200, as GraphQL over HTTP says for that media type', async () => {
    const res = await app.fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${await app.token('admin@test-clinic.com')}`,
      },
      body: JSON.stringify({ query: queryOfDepth(13) }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      errors: [
        {
          message: 'Query too deep: depth 13, the limit is 12 (MAX_QUERY_DEPTH)',
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ],
    });
  });
});

describe('aliases', () => {
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;

  test('30 run; 31 are refused naming the limit', async () => {
    await expectAccepted(aliases(30));
    await expectRefused(aliases(31), /^Too many aliases: 31, the limit is 30 \(MAX_ALIASES\)$/);
  });

  test('an alias in a fragment counts wherever the fragment is spread', async () => {
    const fragment = `fragment F on User { ${Array.from({ length: 8 }, (_, i) => `f${i}: id`).join(' ')} }`;
    await expectAccepted(`{ me { ...F } a: me { ...F } b: me { ...F } } ${fragment}`); // 3×8 + 2
    await expectRefused(
      `{ me { ...F } a: me { ...F } b: me { ...F } c: me { ...F } } ${fragment}`, // 4×8 + 3
      /^Too many aliases: 35, the limit is 30/,
    );
  });
});

describe('tokens', () => {
  // 16 tokens around the list, one per list item. (Not a field repeated: graphql-js's validation
  // has its own budget for comparing fields, which ~1,000 equal fields exceed.)
  const tokens = (n: number) =>
    `{ cases(filter: { status: [${'PENDING '.repeat(n - 16)}] }) { totalCount } }`;

  test('1,000 run; 1,001 are refused naming the limit', async () => {
    await expectAccepted(tokens(1000));
    await expectRefused(tokens(1001), /^Too many tokens: more than 1000, the limit is 1000 \(MAX_TOKENS\)$/);
  });

  test('an unauthenticated request is refused as such first, whatever the document', async () => {
    const res = await app.gql(tokens(5000), {}, { authorization: null });
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('cost', () => {
  const measure = (source: string, variables: Record<string, unknown> = {}) => {
    const document = parse(source);
    const operation = getOperationAST(document);
    if (!operation) throw new Error('no operation');
    return measureOperation(schema, document, operation, variables).cost;
  };
  const caseList = readFileSync(join(EXAMPLES_DIR, 'CaseList.graphql'), 'utf8');
  /** The benchmark's shape: 50 cases a page, 10 tasks each, with what the work queue shows. */
  const benchmark = caseList.replace('tasks(first: 5)', 'tasks(first: 10)');

  test('counts every value the response can hold: first/last size the edges, default 20', () => {
    expect(measure('{ cases { totalCount } }')).toBe(2);
    expect(measure('{ cases(first: 3) { totalCount edges { node { id } } } }')).toBe(1 + 1 + 1 + 3 * 2);
    expect(measure('{ cases { edges { node { id } } } }')).toBe(1 + 1 + 20 * 2);
    expect(
      measure(
        'query ($n: Int) { cases(last: $n) { edges { node { tasks(first: 2) { edges { cursor } } } } } }',
        {
          n: 4,
        },
      ),
    ).toBe(1 + 1 + 4 * (1 + 1 + 1 + 2 * 1));
    // A list of objects without a size argument counts as 10; ids and limit size their lists.
    expect(measure('{ case(id: "x") { codes { code } } }')).toBe(1 + 1 + 10);
    expect(measure('{ nodes(ids: ["a", "b", "c"]) { id } }')).toBe(1 + 3);
    expect(measure('{ caseStats { topPayers(limit: 5) { payer count } } }')).toBe(1 + 1 + 5 * 2);
  });

  test('every example operation and the benchmark shape cost well under the limit', () => {
    const examples = readdirSync(EXAMPLES_DIR).filter((name) => name.endsWith('.graphql'));
    expect(examples.length).toBeGreaterThan(0);
    for (const name of examples) {
      // Each example with its variables' defaults (CaseList: 20 cases, MyTasks: 50 tasks).
      expect(measure(readFileSync(join(EXAMPLES_DIR, name), 'utf8')), name).toBeLessThan(LIMITS.cost / 10);
    }
    expect(measure(caseList, { first: 100 })).toBeLessThan(LIMITS.cost / 4);
    expect(measure(benchmark, { first: 50 })).toBeLessThan(LIMITS.cost / 5);
  });

  test('the benchmark shape runs', async () => {
    const res = await expectAccepted(benchmark, { first: 50 });
    expect((res.body.data as { cases: { edges: unknown[] } }).cases.edges).toHaveLength(45);
  });

  test('a page too large is refused with its cost, counted with the variables', async () => {
    const query = /* GraphQL */ `
      query ($cases: Int, $tasks: Int) {
        cases(first: $cases) { edges { node { id tasks(first: $tasks) { edges { node { id title status priority dueDate } } } } } }
      }
    `;
    await expectAccepted(query, { cases: 10, tasks: 10 });
    // The same document, refused with other variables: the check is not cached per document.
    await expectRefused(
      query,
      /^Query too costly: cost 60402, the limit is 50000 \(MAX_QUERY_COST\); ask for smaller pages/,
      { cases: 100, tasks: 100 },
    );
  });

  test('fragments that fan out are refused without walking them all', async () => {
    const fan = (from: string, to: string) => `fragment ${from} on User { ...${to} a${from}: id ...${to} }`;
    const fragments = [
      'F0',
      'F1',
      'F2',
      'F3',
      'F4',
      'F5',
      'F6',
      'F7',
      'F8',
      'F9',
      'F10',
      'F11',
      'F12',
      'F13',
      'F14',
      'F15',
      'F16',
      'F17',
      'F18',
    ];
    const document = `{ me { ...F0 } } ${fragments
      .slice(0, -1)
      .map((name, i) => fan(name, fragments[i + 1] ?? 'F18'))
      .join(' ')} fragment F18 on User { id }`;
    const started = performance.now();
    const res = await app.gql(document);
    expect(res.status).toBe(400);
    expect(res.body.errors?.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^Query too costly: cost over 50000, the limit is 50000/),
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('HTTP', () => {
  test('a batch (a JSON array) is refused: batching is off', async () => {
    const res = await app.fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${await app.token('admin@test-clinic.com')}`,
      },
      body: JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/Batching is not supported/);
  });

  test('GET runs queries, never mutations (405, Allow: POST)', async () => {
    const headers = {
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${await app.token('admin@test-clinic.com')}`,
    };
    const get = (query: string) =>
      app.fetch(`/graphql?query=${encodeURIComponent(query)}`, { method: 'GET', headers });
    const query = await get('{ me { email } }');
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { me: { email: 'admin@test-clinic.com' } } });

    app.statements.length = 0;
    const mutation = await get('mutation { deleteCase(input: { id: "Q2FzZTox" }) { __typename } }');
    expect(mutation.status).toBe(405);
    expect(mutation.headers.get('allow')).toBe('POST');
    expect(app.statements).toEqual([]);
  });
});

describe('request body', () => {
  let port: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let token: string;
  beforeAll(async () => {
    token = await app.token('admin@test-clinic.com');
    port = Number(new URL(await listenLocally(app)).port);
  });
  afterAll(async () => {
    agent.destroy();
    app.http.closeAllConnections();
    await new Promise((resolve) => app.http.close(resolve));
  });

  /** POST over the one keep-alive socket; `chunked` sends no Content-Length. */
  const post = (body: string, chunked = false) =>
    new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
      const req = httpRequest(
        {
          agent,
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json',
            authorization: `Bearer ${token}`,
            ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, socket: req.socket }));
        },
      );
      req.on('error', reject);
      // Several writes: with no Content-Length, node sends them as chunks.
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.slice(at, at + 64 * 1024));
      req.end();
    });

  /**
   * A valid request whose body is `bytes` long: padded with a variable the operation does not
   * declare (ignored), since the document itself has a smaller limit (MAX_DOCUMENT_BYTES).
   */
  const bodyOf = (bytes: number) => {
    const base = JSON.stringify({ query: '{ me { email } }', variables: { padding: '' } });
    return JSON.stringify({
      query: '{ me { email } }',
      variables: { padding: 'x'.repeat(bytes - base.length) },
    });
  };

  test.each([
    ['with Content-Length', false],
    ['chunked', true],
  ])(
    '%s: 1 MiB runs, one byte more is 413 naming the limit, and the connection stays usable',
    async (_name, chunked) => {
      expect(Buffer.byteLength(bodyOf(LIMITS.bodyBytes))).toBe(LIMITS.bodyBytes);
      const fits = await post(bodyOf(LIMITS.bodyBytes), chunked);
      expect(fits.status).toBe(200);
      expect(JSON.parse(fits.body)).toEqual({ data: { me: { email: 'admin@test-clinic.com' } } });

      const tooLarge = await post(bodyOf(LIMITS.bodyBytes + 1), chunked);
      expect(tooLarge.status).toBe(413);
      expect(JSON.parse(tooLarge.body).errors).toEqual([
        {
          message: 'Request body too large: the limit is 1048576 bytes (MAX_BODY_BYTES)',
          extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' },
        },
      ]);

      const next = await post(JSON.stringify({ query: '{ me { email } }' }));
      expect(next.status).toBe(200);
      expect(next.socket).toBe(tooLarge.socket); // the same keep-alive connection
    },
  );
});

describe('switches', () => {
  let closed: TestApp;
  beforeAll(async () => {
    // No seed: both refusals come before the user is looked up.
    closed = await startTestApp({ seed: false, env: { GRAPHIQL: 'false', GRAPHQL_INTROSPECTION: 'false' } });
  });
  afterAll(() => closed?.close());

  test('GRAPHIQL=false: a browser gets no GraphiQL (406: the API answers JSON only)', async () => {
    const res = await closed.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(406);
    expect(await res.text()).not.toContain('GraphiQL');
  });

  test('GRAPHQL_INTROSPECTION=false: introspection is refused before execution', async () => {
    const res = await closed.gql('{ __schema { queryType { name } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.message).toMatch(/introspection has been disabled/);
    // Open by default outside production.
    expect((await app.gql('{ __schema { queryType { name } } }')).body.data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });
});
