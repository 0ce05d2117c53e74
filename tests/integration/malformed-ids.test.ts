import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { schema } from '../../src/schema/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ALL_TABLES, query } from '../helpers/db.js';
import { ID_TYPES, MUTATION_INPUTS } from '../hostile/requests.js';
import { inputCoordinates } from '../hostile/schema-walk.js';
import { globalId, requestBody } from '../hostile/values.js';

// A malformed global ID has one answer in every mutation: the ValidationError of the input's
// field, nothing written. In a query (no result union) it is a top-level BAD_USER_INPUT naming the
// argument. docs/api-decisions.md, "A malformed global ID".

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

/** Every mutation input field that takes an ID, from the schema itself: a new one is covered here. */
const mutationIdFields = inputCoordinates(schema)
  .filter((c) => c.parent === 'Mutation' && c.kind === 'id')
  .map((c) => {
    const type = ID_TYPES[c.coordinate];
    if (!type) throw new Error(`${c.coordinate}: give it its type in tests/hostile/requests.ts ID_TYPES`);
    return { mutation: c.field, inputPath: c.valuePath.slice(1), type, coordinate: c.coordinate };
  });

/** What "Not a … ID" is sent: not a global ID, a well-formed ID of another type (a real row), empty. */
function malformed(type: string): [label: string, value: string][] {
  const another =
    type === 'Case'
      ? encodeGlobalID('Task', stableUuid('test-clinic', 'task', '0', '0'))
      : encodeGlobalID('Case', stableUuid('test-clinic', 'case', '0'));
  return [
    ['garbage', 'not a global ID!'],
    ['another type', another],
    ['a key that is not a UUID', globalId(type, '42')],
    ['empty', ''],
  ];
}

/** A copy of `target` with `value` at `path`. */
function withValueAt(
  target: Record<string, unknown>,
  path: string[],
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return target;
  const inner = (target[head] ?? {}) as Record<string, unknown>;
  return { ...target, [head]: rest.length === 0 ? value : withValueAt(inner, rest, value) };
}

/** The messages' article, written out: "a User", "an Ingestion". A new ID type needs its line. */
const WITH_ARTICLE: Record<string, string> = {
  Case: 'a Case',
  CaseCode: 'a CaseCode',
  Ingestion: 'an Ingestion',
  Ruleset: 'a Ruleset',
  Task: 'a Task',
  User: 'a User',
};

async function fingerprint(): Promise<string[]> {
  const rows: string[] = [];
  for (const table of ALL_TABLES) {
    const [row] = await query<{ digest: string }>(
      app.db.ownerUrl,
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${table} t`,
    );
    rows.push(`${table}:${row?.digest}`);
  }
  return rows;
}

test('every mutation that takes an ID is covered', () => {
  expect(mutationIdFields.length).toBeGreaterThanOrEqual(15);
  const mutations = new Set(mutationIdFields.map((f) => f.mutation));
  // Those that name no row take no ID.
  const withoutIds = new Set(['createRuleset', 'createIngestion', 'createUser']);
  for (const name of Object.keys(MUTATION_INPUTS).filter((m) => !withoutIds.has(m))) {
    expect(mutations, name).toContain(name);
  }
});

describe('a malformed ID in a mutation is the ValidationError of its input field', () => {
  let before: string[];
  beforeAll(async () => {
    before = await fingerprint();
  });

  const cases = mutationIdFields.flatMap((field) =>
    malformed(field.type).map(([label, value]) => ({ ...field, label, value })),
  );
  test.each(cases)('$coordinate: $label', async ({ mutation, inputPath, type, value }) => {
    const base = MUTATION_INPUTS[mutation];
    if (!base) throw new Error(`no valid input for ${mutation} in tests/hostile/requests.ts`);
    const input = withValueAt(JSON.parse(requestBody(base)), inputPath, value);
    const inputType = String(schema.getMutationType()?.getFields()[mutation]?.args[0]?.type);
    const res = await app.fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${await app.token('admin@test-clinic.com')}`,
      },
      body: JSON.stringify({
        query: `mutation ($input: ${inputType}) { result: ${mutation}(input: $input) {
          __typename ... on Error { code message } ... on ValidationError { fieldErrors { path message } } } }`,
        variables: { input },
      }),
    });
    const body = (await res.json()) as { data?: { result: unknown }; errors?: unknown };
    expect(res.status).toBe(200);
    expect(body.errors).toBeUndefined();
    const message = `Not ${WITH_ARTICLE[type] ?? `(no article for ${type})`} ID`;
    expect(body.data?.result).toEqual({
      __typename: 'ValidationError',
      code: 'VALIDATION',
      message: `Invalid input: ${inputPath.join('.')}: ${message}`,
      fieldErrors: [{ path: inputPath, message }],
    });
  });

  test('nothing was written', async () => {
    expect(await fingerprint()).toEqual(before);
  });
});

describe('a malformed ID in a query is a top-level BAD_USER_INPUT naming the argument', () => {
  const queries: [document: string, argument: string, expected: string][] = [
    ['query ($id: ID!) { result: case(id: $id) { id } }', 'id', 'is not a Case ID'],
    ['query ($id: ID!) { result: task(id: $id) { id } }', 'id', 'is not a Task ID'],
    ['query ($id: ID!) { result: ruleset(id: $id) { id } }', 'id', 'is not a Ruleset ID'],
    ['query ($id: ID!) { result: node(id: $id) { id } }', 'id', 'is not the global ID of a Node'],
    [
      'query ($id: ID!) { result: tasks(filter: { assigneeId: $id }) { totalCount } }',
      'filter.assigneeId',
      'is not a User ID',
    ],
  ];
  test.each(queries)('%s', async (document, argument, expected) => {
    for (const value of ['not a global ID!', globalId('Nope'), globalId('Case', '42'), '']) {
      const res = await app.gql<{ result: unknown }>(document, { id: value });
      expect(res.status).toBe(200);
      expect(res.body.data?.result ?? null).toBeNull();
      expect(res.body.errors).toEqual([
        expect.objectContaining({
          message: `Argument "${argument}" ${expected}`,
          path: ['result'],
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      ]);
    }
  });
});
