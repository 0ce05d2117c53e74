import pg from 'pg';
import { operation, type RequestContext, requestsFor, type Shape, sendable, variables } from './shapes.js';

type Json = Record<string, unknown>;
type Edges<T> = { edges: { node: T }[] };

async function post(url: string, shape: Shape, ctx: RequestContext, body?: string): Promise<Json> {
  const [built] = requestsFor(shape, [ctx]);
  if (!built) throw new Error('no request');
  const request = sendable(built);
  const response = await fetch(url, { method: 'POST', headers: request.headers, body: body ?? request.body });
  const text = await response.text();
  request.onResponse?.(response.status, text);
  const json = JSON.parse(text) as Json;
  if (response.status !== 200 || json.errors) {
    throw new Error(`${shape}: HTTP ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
  }
  return json.data as Json;
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Before any load: each shape returns the right rows for the token's user and tenant (ground
 * truth read as the owner), and another tenant's case is invisible. A failed check stops the run.
 */
export async function verifyShapes(
  url: string,
  ownerUrl: string,
  contexts: RequestContext[],
  shapes: readonly Shape[],
): Promise<string[]> {
  const a = contexts[0] as RequestContext;
  const b = contexts.find((c) => c.tenantId !== a.tenantId);
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  const passed: string[] = [];
  const check = (name: string, ok: boolean, detail = '') => {
    if (!ok) throw new Error(`check failed: ${name} ${detail}`);
    passed.push(name);
  };
  const ids = async (sql: string, params: unknown[]) =>
    (await owner.query<{ id: string }>(sql, params)).rows.map((r) => r.id);
  try {
    if (shapes.includes('q1')) {
      const data = (await post(url, 'q1', a)) as {
        cases: Edges<{ id: string; codes: unknown[]; tasks: Edges<unknown> }>;
      };
      const got = data.cases.edges.map((e) => e.node);
      const expected = await ids(
        'SELECT id FROM cases WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50',
        [a.tenantId],
      );
      check(
        'q1: the tenant’s newest 50 cases, in order',
        same(
          got.map((c) => c.id),
          expected,
        ),
      );
      check(
        'q1: 3 codes and 3 tasks each',
        got.every((c) => c.codes.length === 3 && c.tasks.edges.length === 3),
      );
    }
    if (shapes.includes('q2')) {
      const data = (await post(url, 'q2', a)) as {
        case: { id: string; codes: unknown[]; tasks: Edges<unknown> };
      };
      check('q2: the requested case', data.case?.id === a.q2CaseId);
      check('q2: 3 codes and 3 tasks', data.case.codes.length === 3 && data.case.tasks.edges.length === 3);
      if (b) {
        const body = JSON.stringify({ query: operation('q2'), variables: variables('q2', b) });
        const other = (await post(url, 'q2', a, body)) as { case: unknown };
        check('q2: a case of another tenant is null', other.case === null);
      }
    }
    if (shapes.includes('q3')) {
      const data = (await post(url, 'q3', a)) as { myOpenTasks: Edges<{ id: string; case: { id: string } }> };
      const expected = await ids(
        `SELECT id FROM tasks WHERE assigned_to = $1 AND status IN ('pending', 'in_progress')
         ORDER BY due_date ASC NULLS LAST, id ASC LIMIT 50`,
        [a.userId],
      );
      const got = data.myOpenTasks.edges.map((e) => e.node);
      check(
        'q3: the user’s first 50 open tasks by due date',
        expected.length === 50 &&
          same(
            got.map((t) => t.id),
            expected,
          ),
      );
      check(
        'q3: each with its case',
        got.every((t) => typeof t.case.id === 'string'),
      );
    }
    if (shapes.includes('m1')) {
      const data = (await post(url, 'm1', a)) as { createTask: { task?: { id: string } } };
      const id = data.createTask.task?.id;
      const { rows } = await owner.query('SELECT tenant_id, case_id FROM tasks WHERE id = $1', [id]);
      check(
        'm1: the task is stored in the token’s tenant, on the case',
        rows.length === 1 && rows[0].tenant_id === a.tenantId && rows[0].case_id === a.m1CaseId,
      );
    }
    for (const shape of ['m2', 'm3'] as const) {
      if (!shapes.includes(shape)) continue;
      type Moved = { task?: { id: string; status?: string; assignee?: { id: string } | null } };
      const task = Object.values((await post(url, shape, a)) as Record<string, Moved>)[0]?.task;
      const { rows } = await owner.query(
        `SELECT t.status, t.assigned_to, (SELECT count(*)::int FROM events e WHERE e.entity_id = t.id) AS events
         FROM tasks t WHERE t.id = $1`,
        [task?.id],
      );
      const stored =
        shape === 'm2'
          ? rows[0]?.status === task?.status?.toLowerCase()
          : (rows[0]?.assigned_to ?? null) === (task?.assignee?.id ?? null);
      check(`${shape}: the answer is what is stored, with an event`, stored && rows[0]?.events > 0);
    }
    return passed;
  } finally {
    await owner.end();
  }
}
