import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { describe, expect, test } from 'vitest';
import { notCompiled, rowField } from '../../src/compiled/field-sql.js';
import { type CompiledFallback, executeCompiled, logFallback } from '../../src/compiled/index.js';
import type { Context } from '../../src/context.js';
import { createLogger } from '../../src/logger.js';
import { schema } from '../../src/schema/index.js';

// Which requests the compiler leaves to the resolvers, and why (`onFallback`, for the log): only
// what it does not cover, or arguments the resolvers' own checks refuse. A mistake of the compiler
// itself is thrown, so that the request fails loudly instead of quietly costing the resolvers' CPU.
// No statement runs here: every case below is decided before one would.

const TENANT = '00000000-0000-4000-8000-000000000001';
const statements: string[] = [];

function context(role: 'admin' | 'staff', memberIdHashKey: string | null = 'k'.repeat(32)): Context {
  return {
    viewer: { id: '00000000-0000-4000-8000-000000000002', tenantId: TENANT, role },
    memberIdHashKey,
    sql: async (text: string) => {
      statements.push(text);
      // The sentinel: a row the statement could not render exactly.
      return [{ data: '{"me":"\\u0000"}' }];
    },
  } as unknown as Context;
}

/** The fallbacks `executeCompiled` reports for `query`, and whether it compiled. */
async function attempt(query: string, variables?: Record<string, unknown>, ctx = context('admin')) {
  const fallbacks: CompiledFallback[] = [];
  const result = executeCompiled(
    { schema, document: parse(query), variableValues: variables ?? {}, contextValue: ctx },
    ctx,
    () => ({ data: { answeredBy: 'resolvers' } }),
    (fallback) => fallbacks.push(fallback),
  );
  return { compiled: result !== null, result: await result, fallbacks };
}

describe('left to the resolvers, with the reason', () => {
  test.each([
    ['{ node(id: "x") { id } }', 'Query.node', /^not compiled: /],
    ['{ caseStats { total } }', 'Query.caseStats', /^not compiled: /],
    ['{ __schema { queryType { name } } }', 'Query.__schema', /not a field of the schema/],
    ['{ cases(first: 0) { totalCount } }', 'Query.cases', /a page of no rows/],
    [
      '{ cases { edges { node { tasks(after: "R1BDOlM6MDAwMDAwMDAtMDAwMC04MDAwLTgwMDAtMDAwMDAwMDAwMDAw") { totalCount } } } } }',
      'Case.tasks',
      /after or before a cursor/,
    ],
  ])('%s: %s', async (query, field, detail) => {
    const { compiled, fallbacks } = await attempt(query);
    expect(compiled).toBe(false);
    expect(fallbacks).toEqual([{ cause: 'untranslatable', field, detail: expect.stringMatching(detail) }]);
  });

  test('a list the role may not read: the resolvers raise FORBIDDEN', async () => {
    const { fallbacks } = await attempt('{ auditLogs { totalCount } }', undefined, context('staff'));
    expect(fallbacks).toEqual([
      { cause: 'untranslatable', field: 'Query.auditLogs', detail: 'not readable by the role' },
    ]);
  });

  test('arguments the resolvers refuse: their error code, never the values', async () => {
    const { fallbacks } = await attempt('query ($n: Int) { cases(first: $n) { totalCount } }', { n: 5000 });
    expect(fallbacks).toEqual([{ cause: 'arguments', field: 'Query.cases', detail: 'BAD_USER_INPUT' }]);
    const cursor = await attempt('{ tasks(after: "secret-looking-cursor") { totalCount } }');
    expect(cursor.fallbacks).toEqual([
      { cause: 'arguments', field: 'Query.tasks', detail: 'BAD_USER_INPUT' },
    ]);
    expect(JSON.stringify(cursor.fallbacks)).not.toContain('secret');
  });

  test('variables that do not coerce', async () => {
    const { fallbacks } = await attempt('query ($n: Int) { cases(first: $n) { totalCount } }', { n: 'many' });
    expect(fallbacks).toEqual([{ cause: 'variables' }]);
  });

  test('a row the statement cannot render: the resolvers answer after it ran', async () => {
    const before = statements.length;
    const { compiled, result, fallbacks } = await attempt('{ me { email } }');
    expect(compiled).toBe(true);
    expect(statements.length - before).toBe(1);
    expect(result).toEqual({ data: { answeredBy: 'resolvers' } });
    expect(fallbacks).toEqual([{ cause: 'row' }]);
  });

  test('the log line names the cause and the field', () => {
    const lines: string[] = [];
    const logger = createLogger(
      { env: 'test', logLevel: 'debug' },
      { write: (line: string) => lines.push(line) },
    );
    logFallback(logger, 'req-1')({ cause: 'arguments', field: 'Query.cases', detail: 'BAD_USER_INPUT' });
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 20,
      requestId: 'req-1',
      cause: 'arguments',
      field: 'Query.cases',
      detail: 'BAD_USER_INPUT',
      msg: 'compiled query left to the resolvers',
    });
  });
});

describe('a mistake of the compiler is thrown, not a fallback', () => {
  test('a TypeError while binding the arguments (here: no member-id key to hash with)', async () => {
    const fallbacks: CompiledFallback[] = [];
    const ctx = context('admin', null);
    expect(() =>
      executeCompiled(
        {
          schema,
          document: parse('{ cases(filter: { memberId: "M-1" }) { totalCount } }'),
          contextValue: ctx,
        },
        ctx,
        () => ({ data: null }),
        (fallback) => fallbacks.push(fallback),
      ),
    ).toThrow(TypeError);
    expect(fallbacks).toEqual([]);
  });

  const broken = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        broken: {
          type: GraphQLString,
          extensions: {
            sql: rowField(() => {
              throw new TypeError("Cannot read properties of undefined (reading 'col')");
            }),
          },
        },
        skipped: { type: GraphQLString, extensions: { sql: notCompiled('for this test') } },
      },
    }),
  });

  test("a TypeError while compiling a field's SQL", () => {
    const ctx = context('admin');
    const run = (query: string) =>
      executeCompiled({ schema: broken, document: parse(query), contextValue: ctx }, ctx, () => ({
        data: null,
      }));
    expect(() => run('{ broken }')).toThrow(TypeError);
    // The same schema's field marked not compiled is still a quiet fallback.
    expect(run('{ skipped }')).toBeNull();
  });
});
