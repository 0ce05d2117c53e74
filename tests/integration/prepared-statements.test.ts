import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compiledStats } from '../../src/compiled/index.js';
import { poolOf } from '../../src/db/client.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

// Clients vary a document's text freely (aliases, the order and repetitions of enum values, page
// sizes, field sets). Each distinct compiled statement is a named prepared statement on the
// connection that ran it, and costs its backend memory: the server keeps at most
// DB_PREPARED_STATEMENTS_MAX per connection, and aliases and enum orders make no new ones.

const CAP = 20;
const STRUCTURES = 250;
const DOCUMENTS = 1000;
const STATUS = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED'];
const PRIORITY = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];
const FIELD_SETS = [
  ['uuid', 'title'],
  ['uuid', 'status', 'priority', 'dueDate'],
  ['uuid', 'title', 'case'],
];
const USERS = ['staff@test-clinic.com', 'admin@second-clinic.com'];

/**
 * Document `i`: its structure (page size, field set, the set of enum values) is `i % STRUCTURES`,
 * and each of its variants names every key differently and lists the enum values in another
 * order, some repeated.
 */
function documentOf(i: number): { text: string; size: number; keys: string[] } {
  const s = i % STRUCTURES;
  const v = Math.floor(i / STRUCTURES);
  const size = 1 + (s % 100);
  const fields = FIELD_SETS[Math.floor(s / 100)] as string[];
  const rotate = (list: string[], by: number) => [
    ...list.slice(by % list.length),
    ...list.slice(0, by % list.length),
  ];
  const statuses = rotate(STATUS.slice(0, 1 + (s % 4)), v);
  const priorities = rotate(PRIORITY.slice(s % 3), v + 1);
  if (v % 2 === 1) statuses.push(statuses[0] as string);
  const alias = (key: string) => `${key}_${v}_${i}`;
  const selected = fields
    .map((f) => (f === 'case' ? `${alias('c')}: case { ${alias('p')}: payer }` : `${alias(f)}: ${f}`))
    .join(' ');
  const keys = [alias('list'), alias('edges'), alias('node')];
  const text = `{ ${keys[0]}: tasks(first: ${size}, filter: { status: [${statuses.join(', ')}], priority: [${priorities.join(', ')}] }) {
    ${keys[1]}: edges { ${keys[2]}: node { ${selected} } } } }`;
  return { text, size, keys };
}

/** The named statements on each of the pool's connections (all idle when this runs). */
async function preparedPerConnection(app: TestApp): Promise<string[][]> {
  const pool = poolOf(app.prisma);
  const clients: pg.PoolClient[] = [];
  try {
    for (let i = 0; i < pool.totalCount; i++) clients.push(await pool.connect());
    return await Promise.all(
      clients.map(async (client) => {
        const { rows } = await client.query<{ statement: string }>(
          'SELECT statement FROM pg_prepared_statements ORDER BY statement',
        );
        return rows.map((r) => r.statement);
      }),
    );
  } finally {
    for (const client of clients) client.release();
  }
}

describe(`${DOCUMENTS} distinct documents, DB_PREPARED_STATEMENTS_MAX=${CAP}`, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { DB_PREPARED_STATEMENTS_MAX: String(CAP) } });
  });
  afterAll(() => app?.close());

  test('every response is right, no connection holds more than the cap, variants share statements', async () => {
    const executed = compiledStats.executed;
    let maxPerConnection = 0;
    const failures: string[] = [];
    const check = async (i: number) => {
      const { text, size, keys } = documentOf(i);
      const [list, edges, node] = keys as [string, string, string];
      const response = await app.gql<Record<string, Record<string, Record<string, unknown>[]>>>(
        text,
        undefined,
        {
          email: USERS[i % 2] as string,
        },
      );
      const rows = response.body.data?.[list]?.[edges];
      const right = Array.isArray(rows) && rows.length <= size && rows.every((row) => row[node]);
      if (response.status !== 200 || response.body.errors || !right)
        failures.push(`${i}: ${response.status} ${JSON.stringify(response.body).slice(0, 200)}`);
    };
    // Batches of 100 over 8 concurrent clients; between batches, a look at every connection.
    for (let start = 0; start < DOCUMENTS; start += 100) {
      let next = start;
      const worker = async () => {
        while (next < start + 100) await check(next++);
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const counts = (await preparedPerConnection(app)).map((names) => names.length);
      maxPerConnection = Math.max(maxPerConnection, ...counts);
      expect(
        counts.every((n) => n <= CAP),
        `after ${start + 100} documents: ${counts}`,
      ).toBe(true);
    }
    expect(failures).toEqual([]);
    expect(compiledStats.executed - executed).toBe(DOCUMENTS);
    // The variants of a structure are one statement: as many texts as structures, not documents.
    const texts = new Set(app.statements.filter((s) => s.startsWith('SELECT json_build_object')));
    expect(texts.size).toBe(STRUCTURES);
    expect(maxPerConnection).toBe(CAP);
    const connections = await preparedPerConnection(app);
    console.info(
      `prepared statements: ${DOCUMENTS} documents, ${texts.size} statement texts, ${connections.length} connections, ` +
        `at most ${maxPerConnection} named statements on one (cap ${CAP}); now ${connections.map((c) => c.length)}`,
    );
  });
});

describe.each([
  ['DB_PREPARED_STATEMENTS=false', { DB_PREPARED_STATEMENTS: 'false' }],
  ['DB_PREPARED_STATEMENTS_MAX=0', { DB_PREPARED_STATEMENTS_MAX: '0' }],
])('%s', (_name, env) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env });
  });
  afterAll(() => app?.close());

  test('every statement is sent unnamed: no connection holds a prepared statement', async () => {
    for (let i = 0; i < 30; i++) {
      const { text, keys } = documentOf(i);
      const response = await app.gql<Record<string, unknown>>(text);
      expect(response.status).toBe(200);
      expect(response.body.data?.[keys[0] as string]).toBeTruthy();
    }
    // CLINICIAN: the `view` audit row, the other statement sent prepared.
    const detail = await app.gql(`{ cases(first: 3) { edges { node { extractedData } } } }`, undefined, {
      email: 'clinician@test-clinic.com',
    });
    expect(detail.body.errors).toBeUndefined();
    expect((await preparedPerConnection(app)).flat()).toEqual([]);
  });
});
