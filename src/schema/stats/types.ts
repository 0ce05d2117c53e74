import { builder } from '../../builder.js';
import {
  CASE_STATUSES,
  type Priority as Level,
  PRIORITIES,
  type CaseStatus as Status,
} from '../../domain/vocabulary.js';
import { badUserInput } from '../../errors.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { CaseStatus, Priority } from '../common/enums.js';

export const TOP_PAYERS_MAX = 100;

/**
 * The cases `caseStats` counts: the tenant's cases matching the filter (`caseWhere`). Each field
 * is its own grouped count in SQL, run only when selected: the parts share nothing a single
 * statement could save, and an unselected part costs nothing.
 */
export interface CaseStatsShape {
  where: Prisma.CaseWhereInput;
}

const StatusCount = builder.objectRef<{ status: Status; count: number }>('StatusCount').implement({
  description: 'How many cases have this status',
  fields: (t) => ({
    status: t.field({ type: CaseStatus, resolve: (row) => row.status }),
    count: t.exposeInt('count'),
  }),
});

const PriorityCount = builder.objectRef<{ priority: Level; count: number }>('PriorityCount').implement({
  description: 'How many cases have this priority',
  fields: (t) => ({
    priority: t.field({ type: Priority, resolve: (row) => row.priority }),
    count: t.exposeInt('count'),
  }),
});

const PayerCount = builder.objectRef<{ payer: string; count: number }>('PayerCount').implement({
  description: 'How many cases name this payer',
  fields: (t) => ({
    payer: t.exposeString('payer'),
    count: t.exposeInt('count'),
  }),
});

export const CaseStats = builder.objectRef<CaseStatsShape>('CaseStats').implement({
  description: "Counts over the clinic's cases matching the filter",
  fields: (t) => ({
    total: t.int({
      description: 'Cases matching the filter',
      resolve: ({ where }, _args, ctx) => ctx.db.case.count({ where }),
    }),
    byStatus: t.field({
      type: [StatusCount],
      description: 'One entry per CaseStatus, in enum order, zeros included',
      resolve: async ({ where }, _args, ctx) => {
        const groups = await ctx.db.case.groupBy({ by: ['status'], where, _count: { _all: true } });
        const counts = new Map(groups.map((g) => [g.status, g._count._all]));
        return CASE_STATUSES.map((status) => ({ status, count: counts.get(status) ?? 0 }));
      },
    }),
    byPriority: t.field({
      type: [PriorityCount],
      description: 'One entry per Priority, in enum order, zeros included',
      resolve: async ({ where }, _args, ctx) => {
        const groups = await ctx.db.case.groupBy({ by: ['priority'], where, _count: { _all: true } });
        const counts = new Map(groups.map((g) => [g.priority, g._count._all]));
        return PRIORITIES.map((priority) => ({ priority, count: counts.get(priority) ?? 0 }));
      },
    }),
    topPayers: t.field({
      type: [PayerCount],
      description: `The payers with the most cases: by count descending, then payer ascending. limit 1..${TOP_PAYERS_MAX}`,
      args: { limit: t.arg.int({ defaultValue: 10 }) },
      resolve: async ({ where }, args, ctx) => {
        // An explicit null means the default, as leaving the argument out does.
        const limit = args.limit ?? 10;
        if (!Number.isInteger(limit) || limit < 1 || limit > TOP_PAYERS_MAX) {
          throw badUserInput(`Argument "limit" must be between 1 and ${TOP_PAYERS_MAX} (got ${limit})`);
        }
        const groups = await ctx.db.case.groupBy({
          by: ['payer'],
          where,
          _count: { _all: true },
          orderBy: [{ _count: { payer: 'desc' } }, { payer: 'asc' }],
          take: limit,
        });
        return groups.map((g) => ({ payer: g.payer, count: g._count._all }));
      },
    }),
  }),
});

/** The tenant's task workload, counted in one SQL statement. */
export interface TaskStatsShape {
  open: number;
  overdue: number;
  dueWithin24h: number;
  completedLast7Days: number;
}

export const TaskStats = builder.objectRef<TaskStatsShape>('TaskStats').implement({
  description: "The clinic's task workload, now",
  fields: (t) => ({
    open: t.exposeInt('open', { description: 'PENDING + IN_PROGRESS' }),
    overdue: t.exposeInt('overdue', { description: 'Open, and due before now' }),
    dueWithin24h: t.exposeInt('dueWithin24h', {
      description: 'Open, and due from now to 24 hours from now (overdue ones excluded)',
    }),
    completedLast7Days: t.exposeInt('completedLast7Days', {
      description: 'Completed (completedAt) within the last 7 days',
    }),
  }),
});
