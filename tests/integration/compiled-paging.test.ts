import { describe, expect, test } from 'vitest';
import { useCompiledPair } from '../helpers/compiled-pair.js';

// Every list order walked forward and backward through the compiled cursors, each page the same
// as the resolvers' and answered compiled: the same rows both ways.

const pair = useCompiledPair();

describe('paging walks', () => {
  const WALKS: [string, string, Record<string, unknown>][] = [
    ['cases', 'cases', {}],
    ['cases', 'cases', { orderBy: 'PRIORITY_DESC' }],
    ['cases', 'cases', { orderBy: 'CREATED_AT_ASC', filter: { status: ['PENDING'] } }],
    ['cases', 'cases', { orderBy: 'UPDATED_AT_DESC' }],
    ['tasks', 'tasks', { orderBy: 'DUE_DATE_ASC' }],
    ['tasks', 'tasks', { orderBy: 'PRIORITY_DESC' }],
    ['tasks', 'tasks', {}],
    ['tasks', 'myTasks', { orderBy: 'DUE_DATE_ASC' }],
    ['tasks', 'tasks', { orderBy: 'UPDATED_AT_DESC', filter: { overdue: false } }],
  ];
  const page = (field: string, argTypes: string) => /* GraphQL */ `
    query ($first: Int, $after: String, $last: Int, $before: String ${argTypes}) {
      list: ${field}(first: $first, after: $after, last: $last, before: $before ${argTypes ? ', orderBy: $orderBy, filter: $filter' : ''}) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { uuid } }
      }
    }`;
  test.each(WALKS)('%s: %s %j, forward then backward', async (kind, field, extra) => {
    const argTypes = `, $orderBy: ${kind === 'cases' ? 'CaseOrderBy' : 'TaskOrderBy'}, $filter: ${kind === 'cases' ? 'CaseFilter' : 'TaskFilter'}`;
    const text = page(field, argTypes);
    const email = field === 'myTasks' ? 'staff@test-clinic.com' : 'clinician@test-clinic.com';
    let after: string | null = null;
    let pages = 0;
    const forward: string[] = [];
    for (;;) {
      const { compiled: took, body } = await pair.same(text, { first: 4, after, ...extra }, email);
      expect(took).toBe(true);
      const list = body.data.list;
      forward.push(...list.edges.map((e: { node: { uuid: string } }) => e.node.uuid));
      pages += 1;
      if (!list.pageInfo.hasNextPage || pages > 40) break;
      after = list.pageInfo.endCursor;
    }
    expect(forward.length).toBeGreaterThan(8);
    let before: string | null = null;
    const backward: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { compiled: took, body } = await pair.same(text, { last: 5, before, ...extra }, email);
      expect(took).toBe(true);
      const list = body.data.list;
      backward.unshift(...list.edges.map((e: { node: { uuid: string } }) => e.node.uuid));
      if (!list.pageInfo.hasPreviousPage) break;
      before = list.pageInfo.startCursor;
    }
    expect(backward).toEqual(forward);
  });
});
