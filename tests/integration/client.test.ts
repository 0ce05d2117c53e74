import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ExecutionResult,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  validate,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exampleTabs } from '../../src/graphiql.js';
import { readEventStream } from '../../src/realtime/event-stream.js';
import { schema } from '../../src/schema/index.js';
import * as generatedModule from '../generated/graphql/graphql.js';
import {
  AssignTaskDocument,
  CaseDetailDocument,
  type CaseDetailQueryVariables,
  CaseListDocument,
  type CaseListQuery,
  type CaseListQueryVariables,
  CreateTaskDocument,
  MeDocument,
  MyTasksDocument,
  NodeRefetchDocument,
  type NodeRefetchQueryVariables,
  TransitionTaskStatusDocument,
  type TypedDocumentString,
  WorkQueueChangesDocument,
  type WorkQueueChangesSubscriptionVariables,
} from '../generated/graphql/graphql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tokenFor } from '../helpers/realtime.js';
import { executeTyped } from '../helpers/typed-documents.js';

// The operations in docs/examples/, typed by `npm run codegen`, run as a frontend would run them:
// the test compiles only while the examples, the generated types and these assertions agree.

const ADMIN = 'admin@test-clinic.com';
const EXAMPLES_DIR = join(import.meta.dirname, '../../docs/examples');

type CaseListNode = CaseListQuery['cases']['edges'][number]['node'];

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

/** A generated document as `email` (the ADMIN by default): tests/helpers/typed-documents.ts. */
function execute<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: NoInfer<TVariables>,
  email = ADMIN,
): Promise<TResult> {
  return executeTyped(app, document, variables, email);
}

async function firstCase(): Promise<CaseListNode> {
  const { cases } = await execute(CaseListDocument, { first: 1 });
  const node = cases.edges[0]?.node;
  if (!node) throw new Error('CaseList returned no case');
  return node;
}

describe('CaseList', () => {
  test('walks all 45 cases, 20 a page, newest first, none twice', async () => {
    const seen: CaseListNode[] = [];
    let after: string | null | undefined = null;
    let pages = 0;
    for (;;) {
      const variables: CaseListQueryVariables = { first: 20, after };
      const { cases } = await execute(CaseListDocument, variables);
      pages += 1;
      expect(cases.totalCount).toBe(45);
      expect(cases.edges).toHaveLength(Math.min(20, 45 - seen.length));
      seen.push(...cases.edges.map((edge) => edge.node));
      if (!cases.pageInfo.hasNextPage) break;
      expect(cases.pageInfo.endCursor).toBe(cases.edges.at(-1)?.cursor);
      after = cases.pageInfo.endCursor;
      expect(after).toEqual(expect.any(String));
      if (pages > 5) throw new Error('hasNextPage never became false');
    }

    expect(pages).toBe(3);
    expect(seen).toHaveLength(45);
    expect(new Set(seen.map((c) => c.id)).size).toBe(45);
    const createdAt = seen.map((c) => c.createdAt);
    expect(createdAt).toEqual([...createdAt].sort().reverse());

    // The nested selections resolve on every row, not just the first page.
    for (const c of seen) {
      expect(c.createdBy.email).toMatch(/@test-clinic\.com$/);
      expect(c.codes.length).toBeGreaterThan(0);
      expect(c.tasks.edges.length).toBe(Math.min(5, c.tasks.totalCount));
    }
    const tasks = seen.flatMap((c) => c.tasks.edges.map((edge) => edge.node));
    expect(tasks.some((t) => t.assignee?.email.endsWith('@test-clinic.com'))).toBe(true);
    expect(tasks.some((t) => t.assignee === null)).toBe(true);
  });
});

describe('CaseDetail', () => {
  test('returns the first listed case with its codes and tasks, extractedData for ADMIN', async () => {
    const listed = await firstCase();
    const variables: CaseDetailQueryVariables = { id: listed.id };
    const { case: detail } = await execute(CaseDetailDocument, variables);
    if (!detail) throw new Error('CaseDetail returned null for a listed case');

    expect(detail.id).toBe(listed.id);
    expect(detail.uuid).toBe(listed.uuid);
    expect(detail.payer).toBe(listed.payer);
    expect(
      detail.codes.map(({ id, code, codeType, description }) => ({ id, code, codeType, description })),
    ).toEqual(
      listed.codes.map(({ id, code, codeType, description }) => ({ id, code, codeType, description })),
    );
    const stored = await app.owner.caseCode.findMany({ where: { caseId: detail.uuid } });
    expect(detail.codes.map((c) => c.uuid).sort()).toEqual(stored.map((c) => c.id).sort());

    expect(detail.tasks.totalCount).toBe(await app.owner.task.count({ where: { caseId: detail.uuid } }));
    expect(detail.tasks.edges.map((edge) => edge.node.id)).toEqual(
      listed.tasks.edges.map((edge) => edge.node.id),
    );
    expect(detail.extractedData).toMatchObject({ patientName: expect.any(String) });
    expect(detail.confidence.fields).toMatchObject({ payer: expect.any(Number) });
  });

  test('gives STAFF the case without extractedData', async () => {
    const listed = await firstCase();
    const { case: detail } = await execute(CaseDetailDocument, { id: listed.id }, 'staff@test-clinic.com');
    expect(detail?.id).toBe(listed.id);
    expect(detail?.extractedData).toBeNull();
  });
});

describe('Me', () => {
  test('is the seeded admin in the test clinic', async () => {
    const { me, tenant } = await execute(MeDocument, {});
    expect(me.email).toBe(ADMIN);
    expect(me.role).toBe('ADMIN');
    expect(tenant.slug).toBe('test-clinic');
  });

  test('is whoever the token names, in their own clinic', async () => {
    const { me, tenant } = await execute(MeDocument, {}, 'staff@second-clinic.com');
    expect(me.email).toBe('staff@second-clinic.com');
    expect(me.role).toBe('STAFF');
    expect(tenant.slug).toBe('second-clinic');
  });
});

describe('NodeRefetch', () => {
  test('refetches a Task from CaseList as a Task of that case', async () => {
    const { cases } = await execute(CaseListDocument, { first: 5 });
    const parent = cases.edges.find((edge) => edge.node.tasks.edges.length > 0)?.node;
    const listed = parent?.tasks.edges[0]?.node;
    if (!parent || !listed) throw new Error('no task in the first cases');

    const variables: NodeRefetchQueryVariables = { id: listed.id };
    const { node } = await execute(NodeRefetchDocument, variables);
    if (node?.__typename !== 'Task') throw new Error(`expected a Task, got ${node?.__typename ?? 'null'}`);
    expect(node.id).toBe(listed.id);
    expect(node.title).toBe(listed.title);
    expect(node.taskStatus).toBe(listed.status);
    expect(node.case.id).toBe(parent.id);
  });

  test('refetches a Case as a Case, and not from another clinic', async () => {
    const listed = await firstCase();
    const { node } = await execute(NodeRefetchDocument, { id: listed.id });
    if (node?.__typename !== 'Case') throw new Error(`expected a Case, got ${node?.__typename ?? 'null'}`);
    expect(node.caseStatus).toBe(listed.status);
    expect(node.codes.map((c) => c.id)).toEqual(listed.codes.map((c) => c.id));

    const other = await execute(NodeRefetchDocument, { id: listed.id }, 'admin@second-clinic.com');
    expect(other.node).toBeNull();
  });
});

describe('docs/examples', () => {
  const files = readdirSync(EXAMPLES_DIR).filter((name) => name.endsWith('.graphql'));
  const generated = new Map<string, string>(
    Object.entries(generatedModule)
      .filter(([name]) => name.endsWith('Document'))
      .map(([, document]) => {
        const text = String(document);
        return [operationNames(text)[0] ?? '', text];
      }),
  );

  test('one operation per file, named after the file, and the generated documents are current', () => {
    expect(files.map((name) => name.replace(/\.graphql$/, '')).sort()).toEqual([...generated.keys()].sort());
    for (const name of files) {
      const source = readFileSync(join(EXAMPLES_DIR, name), 'utf8');
      const operation = name.replace(/\.graphql$/, '');
      expect(operationNames(source)).toEqual([operation]);
      // Stale output (an example edited without `npm run codegen`) fails here, not in a frontend.
      expect(print(parse(generated.get(operation) ?? '')), `${name}: run npm run codegen`).toBe(
        print(parse(source)),
      );
    }
  });

  test("GraphiQL's tabs: every example, CaseList first, then queries, subscriptions, mutations, all valid", () => {
    const tabs = exampleTabs();
    expect(tabs.map((tab) => tab.name).sort()).toEqual([...generated.keys()].sort());
    expect(tabs[0]?.name).toBe('CaseList');
    const kinds = tabs.map((tab) => tab.kind);
    const groups = kinds.filter((kind, index) => kind !== kinds[index - 1]);
    expect(groups).toEqual(['query', 'subscription', 'mutation']);
    for (const tab of tabs) {
      expect(operationNames(tab.query)).toEqual([tab.name]);
      expect(validate(schema, parse(tab.query)).map((error) => error.message)).toEqual([]);
      // Its variables (placeholders included) are values of the operation's variable types.
      const operation = parse(tab.query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      const coerced = getVariableValues(
        schema,
        operation?.variableDefinitions ?? [],
        JSON.parse(tab.variables ?? '{}'),
      );
      expect(
        coerced.errors?.map((error) => error.message),
        tab.name,
      ).toBeUndefined();
    }
    expect(exampleTabs(join(EXAMPLES_DIR, 'missing'))).toEqual([]);
  });
});

function operationNames(source: string): string[] {
  return parse(source)
    .definitions.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')
    .map((d) => d.name?.value ?? '');
}

describe('a work-queue round trip with the typed mutations', () => {
  test('a STAFF member creates a task for themselves, starts it, completes it, and sees their queue change', async () => {
    const staff = 'staff@test-clinic.com';
    const target = await firstCase();
    const before = await execute(MyTasksDocument, { first: 100 }, staff);
    const created = await execute(
      CreateTaskDocument,
      {
        input: {
          caseId: target.id,
          title: 'Call the payer',
          priority: 'URGENT',
          dueDate: new Date(Date.now() - 60_000).toISOString(),
          assigneeId: (await execute(MeDocument, {}, staff)).me.id,
        },
      },
      staff,
    );
    if (created.createTask.__typename !== 'CreateTaskPayload') throw new Error(created.createTask.__typename);
    const task = created.createTask.task;
    expect(task).toMatchObject({ title: 'Call the payer', status: 'PENDING', priority: 'URGENT' });

    const queue = await execute(MyTasksDocument, { first: 100 }, staff);
    expect(queue.myTasks.totalCount).toBe(before.myTasks.totalCount + 1);
    const mine = queue.myTasks.edges.find((e) => e.node.id === task.id)?.node;
    expect(mine).toMatchObject({ isOverdue: true, case: { id: target.id } });
    // DUE_DATE_ASC: no task with a due date comes after one without
    const dues = queue.myTasks.edges.map((e) => e.node.dueDate);
    const firstWithout = dues.indexOf(null);
    expect(firstWithout === -1 || dues.slice(firstWithout).every((d) => d === null)).toBe(true);

    const started = await execute(
      TransitionTaskStatusDocument,
      { input: { id: task.id, status: 'IN_PROGRESS' } },
      staff,
    );
    expect(started.transitionTaskStatus.__typename).toBe('TransitionTaskStatusPayload');
    const refused = await execute(
      TransitionTaskStatusDocument,
      { input: { id: task.id, status: 'CANCELLED', expectedUpdatedAt: '2000-01-01T00:00:00.000Z' } },
      staff,
    );
    expect(refused.transitionTaskStatus).toMatchObject({ __typename: 'ConflictError' });
    const done = await execute(
      TransitionTaskStatusDocument,
      { input: { id: task.id, status: 'COMPLETED' } },
      staff,
    );
    if (done.transitionTaskStatus.__typename !== 'TransitionTaskStatusPayload')
      throw new Error('not completed');
    expect(done.transitionTaskStatus.task.completedAt).not.toBeNull();
    const after = await execute(MyTasksDocument, { first: 100 }, staff);
    expect(after.myTasks.edges.some((e) => e.node.id === task.id)).toBe(false);
  });
});

/**
 * A generated subscription over SSE, as a frontend would run it, with variables of its generated
 * type; its changes, of its generated result type. Any GraphQL error fails the test.
 */
async function subscribe<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: NoInfer<TVariables>,
  email: string,
): Promise<{ next(): Promise<TResult>; close(): Promise<unknown> }> {
  const response = await app.fetch('/graphql', {
    method: 'POST',
    headers: {
      accept: 'text/event-stream',
      'content-type': 'application/json',
      authorization: `Bearer ${await tokenFor(email)}`,
    },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const results = readEventStream(response) as AsyncIterableIterator<ExecutionResult<TResult>>;
  return {
    async next() {
      const { value, done } = await results.next();
      expect(done).toBe(false);
      expect(value?.errors, JSON.stringify(value?.errors)).toBeUndefined();
      if (value?.data == null) throw new Error('a result without data');
      return value.data;
    },
    close: () => results.return?.() ?? Promise.resolve(),
  };
}

describe('WorkQueueChanges: the work queue, live', () => {
  test('a STAFF member hears a task given to them and given away, and resumes after a cursor', async () => {
    const staff = 'staff@test-clinic.com';
    const me = (await execute(MeDocument, {}, staff)).me.id;
    const clinician = (await execute(MeDocument, {}, 'clinician@test-clinic.com')).me.id;
    const variables: WorkQueueChangesSubscriptionVariables = { me };
    const queue = await subscribe(WorkQueueChangesDocument, variables, staff);
    const target = await firstCase();
    const create = (title: string, assigneeId: string) =>
      execute(CreateTaskDocument, { input: { caseId: target.id, title, assigneeId } });
    // Someone else's task first: if the filter let it through, it would be the first change heard.
    await create('Not in this queue', clinician);
    const created = await create('Call the payer', me);
    if (created.createTask.__typename !== 'CreateTaskPayload') throw new Error(created.createTask.__typename);
    const task = created.createTask.task;
    const given = (await queue.next()).changes;
    expect(given).toMatchObject({ kind: 'CREATED', entityId: task.id, event: { eventType: 'task.created' } });
    expect(given.node).toMatchObject({ id: task.id, title: 'Call the payer', assignee: { id: me } });

    await execute(AssignTaskDocument, { input: { id: task.id, assigneeId: clinician } });
    const givenAway = (await queue.next()).changes;
    // Still heard (assigned to `me` before the change): the client takes it off the queue.
    expect(givenAway).toMatchObject({
      kind: 'UPDATED',
      entityId: task.id,
      node: { assignee: { id: clinician } },
    });
    await queue.close();

    // A reconnection with the last cursor kept: what came after it, nothing before.
    const resumed = await subscribe(WorkQueueChangesDocument, { me, after: given.cursor }, staff);
    expect((await resumed.next()).changes.cursor).toBe(givenAway.cursor);
    await resumed.close();
  });
});
