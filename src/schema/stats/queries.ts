import { builder } from '../../builder.js';
import { notCompiled } from '../../compiled/field-sql.js';
import { sqlList } from '../../compiled/sql.js';
import { OPEN_TASK_STATUSES } from '../../domain/vocabulary.js';
import { Prisma } from '../../generated/prisma/client.js';
import { CaseFilter, caseWhere } from '../cases/inputs.js';
import { CaseStats, TaskStats, type TaskStatsShape } from './types.js';

const DAY = 86_400_000;
const OPEN = Prisma.raw(sqlList(OPEN_TASK_STATUSES));

builder.queryFields((t) => ({
  caseStats: t.field({
    type: CaseStats,
    description: "Counts over the clinic's cases; the filter means what it means for `cases`",
    args: { filter: t.arg({ type: CaseFilter }) },
    // Nothing is read here: each selected part of CaseStats runs its own grouped count.
    resolve: (_root, args, ctx) => ({ where: caseWhere(ctx, args.filter) }),
    extensions: { sql: notCompiled('grouped counts, each selected part its own statement') },
  }),
  taskStats: t.field({
    type: TaskStats,
    description: "The clinic's task workload, now",
    // One statement with FILTERed counts: one pass over the tenant's tasks gives all four, so
    // computing the unselected ones costs next to nothing. "Now" is the server's clock, as for
    // Task.isOverdue and TaskFilter.overdue, so the numbers agree with those.
    resolve: async (_root, _args, ctx) => {
      const now = new Date();
      const rows = await ctx.db.$queryRaw<TaskStatsShape[]>`
        SELECT
          count(*) FILTER (WHERE status IN ${OPEN})::int AS "open",
          count(*) FILTER (WHERE status IN ${OPEN} AND due_date < ${now}::timestamptz)::int AS "overdue",
          count(*) FILTER (
            WHERE status IN ${OPEN}
              AND due_date >= ${now}::timestamptz AND due_date <= ${new Date(now.getTime() + DAY)}::timestamptz
          )::int AS "dueWithin24h",
          count(*) FILTER (WHERE completed_at >= ${new Date(now.getTime() - 7 * DAY)}::timestamptz)::int AS "completedLast7Days"
        FROM tasks
        WHERE tenant_id = ${ctx.viewer.tenantId}::uuid`;
      return rows[0] ?? { open: 0, overdue: 0, dueWithin24h: 0, completedLast7Days: 0 };
    },
    extensions: { sql: notCompiled('one statement of its own, with FILTERed counts') },
  }),
}));
