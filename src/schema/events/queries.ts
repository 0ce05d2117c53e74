import { queryFromInfo } from '@pothos/plugin-prisma';
import DataLoader from 'dataloader';
import { builder } from '../../builder.js';
import { emitConnection, type PageShape, pageFrom } from '../../compiled/connections.js';
import { rowField } from '../../compiled/field-sql.js';
import { lit, Untranslatable } from '../../compiled/sql.js';
import type { Context } from '../../context.js';
import { UUID } from '../../domain/ids.js';
import { badUserInput } from '../../errors.js';
import { type Event as EventRow, Prisma } from '../../generated/prisma/client.js';
import { perRequest } from '../../loaders.js';
import { FILTER_MAX_LENGTH, filterText, parseTimestamp } from '../common/input-limits.js';
import {
  NEWEST_FIRST,
  type PageArgs,
  pageOf,
  pageWindow,
  rootList,
  rootListSql,
} from '../common/pagination.js';
import { Event, EventConnection } from './types.js';

builder.queryField('events', (t) =>
  t.connection(
    {
      type: Event,
      description: "The clinic's events, newest first",
      args: {
        entityId: t.arg({ type: 'UUID', description: 'Only events about this entity' }),
        eventType: t.arg.string({ description: 'Only events of this type, e.g. case.status_changed' }),
      },
      resolve: (_root, args, ctx, info) =>
        rootList({
          context: ctx,
          info,
          args,
          delegate: ctx.db.event,
          where: eventsWhere(ctx.viewer.tenantId, args),
          orderName: 'CREATED_AT_DESC',
          order: NEWEST_FIRST,
        }) as never,
      extensions: {
        sql: rootListSql({
          where: (args: PageArgs & { entityId?: string | null; eventType?: string | null }, { ctx }) =>
            eventsWhere(ctx.viewer.tenantId, args),
          order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
        }),
      },
    },
    EventConnection,
  ),
);

/** `events`' filter (the resolver's and the compiled query's). */
export function eventsWhere(
  tenantId: string,
  args: { entityId?: string | null; eventType?: string | null },
): Prisma.EventWhereInput {
  return {
    tenantId,
    ...(args.entityId ? { entityId: args.entityId } : {}),
    ...(args.eventType != null
      ? { eventType: filterText(args.eventType, 'eventType', FILTER_MAX_LENGTH.eventType) }
      : {}),
  };
}

// ---- Case.events -----------------------------------------------------------------------------
//
// Events point at their entity by (entity_type, entity_id), not by a foreign key, so Prisma has
// no Case→Event relation to plan. A page of cases must not cost one query per case: every
// Case.events field of one selection (same AST node, hence same arguments and sub-selection)
// goes through one DataLoader, whose batch is one SQL statement ranking each case's events with
// row_number() (a page per case, however many events a case has) plus one findMany for the
// planned nested selection. totalCount is one grouped count for the batch, and only if selected.

/** A position in a case's timeline: created_at at full (microsecond) precision, and the id. */
interface Position {
  ts: string;
  id: string;
}

interface Ranked extends Position {
  caseId: string;
}

interface PageRequest {
  size: number;
  backward: boolean;
  cursor: Position | null;
  query: Record<string, unknown>;
}

interface CaseEventLoaders {
  /** One loader per field selection (its AST node): a case id → that case's page. */
  pages: Map<object, DataLoader<string, { row: EventRow; position: Position }[]>>;
  /** A case id → how many events it has. */
  counts: DataLoader<string, number>;
}

const caseEventLoaders = perRequest(
  (ctx): CaseEventLoaders => ({
    pages: new Map(),
    counts: new DataLoader(async (caseIds: readonly string[]) => {
      const groups = await ctx.db.event.groupBy({
        by: ['entityId'],
        where: { tenantId: ctx.viewer.tenantId, entityType: 'case', entityId: { in: [...caseIds] } },
        _count: { _all: true },
      });
      const counts = new Map(groups.map((g) => [g.entityId, g._count._all]));
      return caseIds.map((id) => counts.get(id) ?? 0);
    }),
  }),
);

const CURSOR_PREFIX = 'CaseEvents';
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function encodePosition(position: Position): string {
  return Buffer.from(JSON.stringify([CURSOR_PREFIX, position.ts, position.id])).toString('base64url');
}

function decodePosition(cursor: string): Position {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 3 ||
    decoded[0] !== CURSOR_PREFIX ||
    typeof decoded[1] !== 'string' ||
    !TIMESTAMP.test(decoded[1]) ||
    typeof decoded[2] !== 'string' ||
    !UUID.test(decoded[2]) ||
    // A date PostgreSQL can read: February 30 or year 0 would fail there, as a data exception.
    'error' in parseTimestamp(decoded[1])
  ) {
    throw badUserInput('Unknown cursor for Case.events');
  }
  return { ts: decoded[1], id: decoded[2] };
}

/** The page of each case's events, newest first (oldest first while paging backward). */
async function loadCasePages(ctx: Context, caseIds: readonly string[], request: PageRequest) {
  if (request.size === 0) return caseIds.map(() => []);
  const direction = request.backward ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  const beyond = request.cursor
    ? request.backward
      ? Prisma.sql`AND (created_at, id) > (${request.cursor.ts}::timestamptz, ${request.cursor.id}::uuid)`
      : Prisma.sql`AND (created_at, id) < (${request.cursor.ts}::timestamptz, ${request.cursor.id}::uuid)`
    : Prisma.empty;
  // The cursor keeps created_at's microseconds: a millisecond Date would skip rows that share it.
  const ranked = await ctx.db.$queryRaw<Ranked[]>`
    SELECT id::text AS id, entity_id::text AS "caseId",
           to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts
    FROM (
      SELECT id, entity_id, created_at,
             row_number() OVER (PARTITION BY entity_id ORDER BY created_at ${direction}, id ${direction}) AS n
      FROM events
      WHERE tenant_id = ${ctx.viewer.tenantId}::uuid
        AND entity_type = 'case'
        AND entity_id = ANY(${[...caseIds]}::uuid[])
        ${beyond}
    ) AS numbered
    WHERE n <= ${request.size + 1}
    ORDER BY entity_id, n`;
  const rows =
    ranked.length === 0
      ? []
      : ((await ctx.db.event.findMany({
          ...request.query,
          where: { id: { in: ranked.map((r) => r.id) }, tenantId: ctx.viewer.tenantId },
        })) as EventRow[]);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const byCase = new Map<string, { row: EventRow; position: Position }[]>();
  for (const r of ranked) {
    const row = byId.get(r.id);
    if (!row) continue;
    const list = byCase.get(r.caseId) ?? [];
    list.push({ row, position: { ts: r.ts, id: r.id } });
    byCase.set(r.caseId, list);
  }
  return caseIds.map((id) => byCase.get(id) ?? []);
}

/**
 * Case.events compiled: the page loadCasePages reads, with encodePosition's cursor (created_at to
 * the microsecond). A page after or before a cursor is left to the resolvers.
 */
const caseEventsSql = rowField((cx) =>
  emitConnection<PageShape>(cx, {
    bind: (args) => {
      if (args.after != null || args.before != null) {
        throw new Untranslatable('a page of Case.events after or before a cursor');
      }
      const { size, backward } = pageWindow(args as PageArgs);
      return { shape: { backward, size, take: size === 0 ? 0 : size + 1 }, values: [] };
    },
    rows: ({ g, shape }, row) => {
      const dir = shape.backward ? 'ASC' : 'DESC';
      const where = () =>
        `x.tenant_id = ${g.tenant()} AND x.entity_type = 'case' AND x.entity_id = ${cx.alias}.id`;
      const ts = `to_char(${row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
      const json = `${lit(`["${CURSOR_PREFIX}","`)} || ${ts} || '","' || ${row}.id::text || '"]'`;
      return {
        from: (numbered) =>
          pageFrom(
            'events',
            where(),
            { x: `x.created_at ${dir}, x.id ${dir}`, q: `q.created_at ${dir}, q.id ${dir}` },
            shape,
            row,
            numbered,
          ),
        size: shape.size,
        backward: shape.backward,
        cursorGiven: false,
        count: () => `(SELECT count(*) FROM events x WHERE ${where()})`,
        cursor: `to_json(translate(encode(convert_to(${json}, 'UTF8'), 'base64'), E'+/=\\n', '-_'))`,
      };
    },
  }),
);

builder.prismaObjectField('Case', 'events', (t) =>
  t.connection(
    {
      type: Event,
      description: 'What happened to this case, newest first',
      resolve: async (parent, args, ctx, info) => {
        // Arguments are checked before any read: BAD_USER_INPUT, never a clamp.
        const { size, backward, cursor } = pageWindow(args);
        const position = cursor ? decodePosition(cursor) : null;
        // Planned for every case, not only the first of a batch: planning records, under this
        // case's own response path, that its events carry the nested selection (Event.user), so
        // those fields resolve from the loaded rows instead of loading them again.
        const query: PageRequest['query'] = queryFromInfo({ context: ctx, info, path: ['edges', 'node'] });
        const loaders = caseEventLoaders(ctx);
        const key = info.fieldNodes[0] ?? info.fieldNodes;
        let pages = loaders.pages.get(key);
        if (!pages) {
          const request: PageRequest = { size, backward, cursor: position, query };
          pages = new DataLoader((caseIds: readonly string[]) => loadCasePages(ctx, caseIds, request));
          loaders.pages.set(key, pages);
        }
        const rows = await pages.load(parent.id);
        return {
          ...pageOf(rows, { size, backward, cursor }, ({ row, position: p }) => ({
            cursor: encodePosition(p),
            node: row,
          })),
          totalCount: () => loaders.counts.load(parent.id),
        } as never;
      },
      extensions: { sql: caseEventsSql },
    },
    EventConnection,
  ),
);
