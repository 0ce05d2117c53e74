import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';

/**
 * M2 and M3 write to tasks of their own, one per request context for each shape, that nothing
 * else in the load touches: their rows are contended by no other request. Each request moves its
 * task the other way from where its last answer left it (PENDING ⇄ IN_PROGRESS, unassigned ⇄ the
 * viewer), so a task's requests must not overlap: they take the contexts in turn from one
 * rotation per shape, whoever sends them (a load's connections, the statement count, the checks).
 * With 80 contexts and 16 connections, a task's next request is built ~80 requests after its
 * last one was answered. The state comes from the answers, not from the requests built: autocannon
 * builds each connection's next request before it knows whether it will send it.
 */

export const WORK_SHAPES = ['m2', 'm3'] as const;
export type WorkShape = (typeof WORK_SHAPES)[number];
export const WORK_TITLE_PREFIX = 'bench-work';

interface WorkContext {
  userId: string;
  token: string;
  taskId: string;
}

interface Rotation {
  contexts: WorkContext[];
  next: number;
  /** Task id → moved from its initial state (IN_PROGRESS for M2, assigned for M3), by its last answer. */
  moved: Map<string, boolean>;
}

const rotations: Record<WorkShape, Rotation> = {
  m2: { contexts: [], next: 0, moved: new Map() },
  m3: { contexts: [], next: 0, moved: new Map() },
};

/**
 * Creates each context's M2 task (assigned to its user, PENDING: STAFF work only on their own)
 * and M3 task (unassigned), on the case M1 writes to; removes those of an earlier run first.
 */
export async function prepareWorkTasks(
  ownerUrl: string,
  contexts: { tenantId: string; userId: string; token: string; m1CaseId: string }[],
): Promise<number> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('DELETE FROM tasks WHERE title LIKE $1', [
      `${WORK_TITLE_PREFIX}%`,
    ]);
    for (const shape of WORK_SHAPES) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO tasks (id, case_id, tenant_id, assigned_to, title, status, updated_at)
         SELECT gen_random_uuid(), c.case_id, c.tenant_id, CASE WHEN $2 THEN c.user_id END, $3, 'pending', now()
         FROM unnest($1::uuid[], $4::uuid[], $5::uuid[]) WITH ORDINALITY AS c(case_id, tenant_id, user_id, n)
         ORDER BY c.n
         RETURNING id`,
        [
          contexts.map((c) => c.m1CaseId),
          shape === 'm2',
          `${WORK_TITLE_PREFIX} ${shape}`,
          contexts.map((c) => c.tenantId),
          contexts.map((c) => c.userId),
        ],
      );
      // RETURNING follows the insertion order of the SELECT's rows.
      rotations[shape] = {
        contexts: contexts.map((c, i) => ({ userId: c.userId, token: c.token, taskId: rows[i]?.id ?? '' })),
        next: 0,
        moved: new Map(),
      };
    }
    return rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** The next M2 or M3 request's variables and token, from the shape's rotation. */
export function nextWork(shape: WorkShape): { token: string; variables: Record<string, unknown> } {
  const rotation = rotations[shape];
  const ctx = rotation.contexts[rotation.next++ % rotation.contexts.length];
  if (!ctx) throw new Error(`no ${shape} tasks: call prepareWorkTasks first`);
  const forth = !rotation.moved.get(ctx.taskId);
  const taskId = encodeGlobalID('Task', ctx.taskId);
  if (shape === 'm2')
    return { token: ctx.token, variables: { taskId, status: forth ? 'IN_PROGRESS' : 'PENDING' } };
  return {
    token: ctx.token,
    variables: { taskId, assigneeId: forth ? encodeGlobalID('User', ctx.userId) : null },
  };
}

interface WorkAnswer {
  data?: {
    transitionTaskStatus?: { task?: { id: string; status: string } };
    assignTask?: { task?: { id: string; assignee: { id: string } | null } };
  };
}

/** Records where an answer of M2 or M3 left its task (an error leaves the state as it was). */
export function recordWork(shape: WorkShape, body: string): void {
  let answer: WorkAnswer;
  try {
    answer = JSON.parse(body) as WorkAnswer;
  } catch {
    return;
  }
  const moved = rotations[shape].moved;
  const transitioned = answer.data?.transitionTaskStatus?.task;
  if (shape === 'm2' && transitioned) moved.set(transitioned.id, transitioned.status === 'IN_PROGRESS');
  const assigned = answer.data?.assignTask?.task;
  if (shape === 'm3' && assigned) moved.set(assigned.id, assigned.assignee !== null);
}

/**
 * Reads where M2's and M3's tasks are, once the requests a finished load abandoned in flight (the
 * server still runs them, nobody reads their answers) have committed: the state is read until two
 * reads 300 ms apart agree.
 */
export async function resyncWork(ownerUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const read = async () =>
      (
        await client.query<{ id: string; moved: boolean; shape: string }>(
          `SELECT id, CASE WHEN title LIKE '% m2' THEN status = 'in_progress' ELSE assigned_to IS NOT NULL END AS moved,
                  right(title, 2) AS shape
           FROM tasks WHERE title LIKE $1 ORDER BY id`,
          [`${WORK_TITLE_PREFIX}%`],
        )
      ).rows;
    let rows = await read();
    for (let settled = false; !settled; ) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const again = await read();
      settled = JSON.stringify(again) === JSON.stringify(rows);
      rows = again;
    }
    for (const row of rows) rotations[row.shape as WorkShape]?.moved.set(row.id, row.moved);
  } finally {
    await client.end();
  }
}
