import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { builder } from '../../builder.js';
import type { FieldSql } from '../../compiled/field-sql.js';
import type { BindEnv } from '../../compiled/gen.js';
import { totalCountSql } from '../../compiled/relay-fields.js';
import { type KeysetPageQuery, rootConnection } from '../../compiled/roots.js';
import { UUID } from '../../domain/ids.js';
import type { Role } from '../../domain/vocabulary.js';
import { badUserInput } from '../../errors.js';
import { parseTimestamp } from './input-limits.js';

// Relay connections (PageInfo, edges) come from the relay plugin; each domain shares one
// `<Type>Connection` wherever that type is listed. This adds `totalCount` to all of them.
builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'Rows matching the filter, ignoring pagination. Counted only when selected.',
    resolve: (connection) => {
      const { totalCount } = connection;
      if (totalCount === undefined) throw new Error('this connection does not provide totalCount');
      return typeof totalCount === 'function' ? totalCount() : totalCount;
    },
    extensions: { sql: totalCountSql },
  }),
);

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** One sort key of a list order, as a Prisma field. Every order ends with `id`. */
export interface SortKey {
  field: string;
  direction: 'asc' | 'desc';
  /** Only for ascending keys: NULLs after every value (due dates). */
  nullsLast?: boolean;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

type Row = Record<string, unknown> & { id: string };
type Where = Record<string, unknown>;

export interface KeysetPage<T extends Row> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  totalCount: () => Promise<number>;
}

/** `first`/`last` and cursors checked before any read: a mistake is BAD_USER_INPUT, never clamped. */
export function pageWindow(args: PageArgs): { size: number; backward: boolean; cursor: string | null } {
  if (args.first != null && args.last != null) throw badUserInput('Pass either "first" or "last", not both');
  if (args.after != null && args.before != null)
    throw badUserInput('Pass either "after" or "before", not both');
  const backward = args.last != null || args.before != null;
  if (backward && args.first != null)
    throw badUserInput('"first" pages forward: use it with "after", not "before"');
  if (!backward && args.last != null)
    throw badUserInput('"last" pages backward: use it with "before", not "after"');
  const size = (backward ? args.last : args.first) ?? DEFAULT_PAGE_SIZE;
  const name = backward ? 'last' : 'first';
  if (size < 0) throw badUserInput(`Argument "${name}" must not be negative`);
  if (size > MAX_PAGE_SIZE)
    throw badUserInput(`Argument "${name}" must be at most ${MAX_PAGE_SIZE} (got ${size})`);
  return { size, backward, cursor: (backward ? args.before : args.after) ?? null };
}

/**
 * What one page of a root list asks Prisma for, its arguments and cursor checked first: the
 * `where` beyond the cursor, the order (reversed for `last`), one row more than the page.
 */
export function keysetQuery(
  args: PageArgs,
  orderName: string,
  order: SortKey[],
): KeysetPageQuery & { where: Where } {
  const { size, backward, cursor } = pageWindow(args);
  const keys = backward ? order.map(reverse) : order;
  const where = cursor ? afterValues(keys, decodeCursor(cursor, orderName, order)) : {};
  return { where, orderBy: keys.map(toOrderBy), take: size + 1, size, backward, cursor };
}

/**
 * Keyset pagination for root lists. The cursor holds the row's sort values (and the order's
 * name), so it stays valid when rows are inserted or even when its own row is deleted; a cursor
 * of another order, or not ours, is BAD_USER_INPUT. `fetch` gets the Prisma `where`/`orderBy`/
 * `take` to merge with its own filter and with Pothos's planned `include`/`select`.
 */
export async function keysetPage<T extends Row>(options: {
  args: PageArgs;
  orderName: string;
  order: SortKey[];
  fetch: (page: { where: Where; orderBy: Record<string, unknown>[]; take: number }) => Promise<T[]>;
  count: () => Promise<number>;
}): Promise<KeysetPage<T>> {
  const { where, orderBy, take, size, backward, cursor } = keysetQuery(
    options.args,
    options.orderName,
    options.order,
  );
  const rows = size === 0 ? [] : await options.fetch({ where, orderBy, take });
  return {
    ...pageOf(rows, { size, backward, cursor }, (node) => ({
      cursor: encodeCursor(options.orderName, options.order, node),
      node,
    })),
    totalCount: options.count,
  };
}

/**
 * A connection's page from the rows read for it (one more than `size` when there are more, in
 * reading order): edges in the list's order, and the page info. Across the cursor there is at
 * least the cursor's own position; beyond the page, the extra row says.
 */
export function pageOf<R, E extends { cursor: string }>(
  rows: R[],
  window: { size: number; backward: boolean; cursor: unknown },
  edge: (row: R) => E,
): { edges: E[]; pageInfo: PageInfoShape } {
  const { size, backward, cursor } = window;
  const more = rows.length > size;
  const page = rows.slice(0, size);
  if (backward) page.reverse();
  const edges = page.map(edge);
  return {
    edges,
    pageInfo: {
      hasNextPage: backward ? cursor !== null : more,
      hasPreviousPage: backward ? more : cursor !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

interface PageInfoShape {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

function reverse(key: SortKey): SortKey & { nullsFirst?: boolean } {
  return { field: key.field, direction: key.direction === 'asc' ? 'desc' : 'asc', nullsFirst: key.nullsLast };
}

function toOrderBy(key: SortKey & { nullsFirst?: boolean }): Record<string, unknown> {
  if (key.nullsLast) return { [key.field]: { sort: key.direction, nulls: 'last' } };
  if (key.nullsFirst) return { [key.field]: { sort: key.direction, nulls: 'first' } };
  return { [key.field]: key.direction };
}

/** Rows strictly after `values` in the order of `keys` (NULLs placed as each key says). */
function afterValues(keys: (SortKey & { nullsFirst?: boolean })[], values: unknown[]): Where {
  const branches: Where[] = [];
  keys.forEach((key, i) => {
    const equalBefore = keys.slice(0, i).map((k, j) => ({ [k.field]: values[j] ?? null }));
    const value = values[i] ?? null;
    const beyond = beyondValue(key, value);
    if (beyond) branches.push({ AND: [...equalBefore, beyond] });
  });
  return { OR: branches };
}

function beyondValue(key: SortKey & { nullsFirst?: boolean }, value: unknown): Where | null {
  const op = key.direction === 'asc' ? 'gt' : 'lt';
  if (value === null) {
    // NULLs last: nothing lies beyond them. NULLs first: every non-NULL value does.
    return key.nullsFirst ? { [key.field]: { not: null } } : null;
  }
  const strictly = { [key.field]: { [op]: value } };
  return key.nullsLast ? { OR: [strictly, { [key.field]: null }] } : strictly;
}

function encodeCursor(orderName: string, order: SortKey[], row: Row): string {
  const values = order.map((key) => {
    const value = row[key.field];
    return value instanceof Date ? { d: value.toISOString() } : (value ?? null);
  });
  return Buffer.from(JSON.stringify([orderName, ...values])).toString('base64url');
}

function decodeCursor(cursor: string, orderName: string, order: SortKey[]): unknown[] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const unknown = () => badUserInput(`Unknown cursor for order ${orderName}`);
  if (!Array.isArray(decoded) || decoded.length !== order.length + 1 || decoded[0] !== orderName) {
    throw unknown();
  }
  return order.map((key, i) => {
    const value = cursorValue(key, decoded[i + 1]);
    if (value === undefined) throw unknown();
    return value;
  });
}

/**
 * How each sort key's cursor value is checked. A cursor is the client's text: a value of the wrong
 * type (a UUID that is not one, a date PostgreSQL cannot read, a rank past SMALLINT) would reach
 * the database. A new sort key needs its entry here, or its cursors are refused.
 */
const CURSOR_VALUE: Record<string, (value: unknown) => unknown> = {
  id: (value) => (typeof value === 'string' && UUID.test(value) ? value : undefined),
  // priority_rank: 0 (no known priority) to 4 (urgent), generated by PostgreSQL.
  priorityRank: (value) =>
    Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 4 ? value : undefined,
  createdAt: timestampValue,
  updatedAt: timestampValue,
  dueDate: timestampValue,
};

/** A key's value from a cursor, or undefined when it is not one this order can hold. */
function cursorValue(key: SortKey, value: unknown): unknown {
  // Only a NULLS LAST key (due dates) can hold NULL; for the others a null would be a filter on NULL.
  if (value === null) return key.nullsLast ? null : undefined;
  return CURSOR_VALUE[key.field]?.(value);
}

function timestampValue(value: unknown): Date | undefined {
  const text = value !== null && typeof value === 'object' ? (value as { d?: unknown }).d : undefined;
  if (typeof text !== 'string') return undefined;
  const parsed = parseTimestamp(text);
  return 'date' in parsed ? parsed.date : undefined;
}

const BASE64 = /^(?:[\d+/A-Za-z]{4})*(?:[\d+/A-Za-z]{2}==|[\d+/A-Za-z]{3}=)?$/;

/**
 * `maxSize` of every related connection (Case.tasks, User.assignedTasks, Ingestion.cases): Pothos
 * calls it before it parses the cursor, the one hook that runs that early. The page arguments are
 * checked as a root list's, and a cursor must be Pothos' cursor of a row id (`GPC:S:<uuid>`,
 * base64): Pothos would send any other key to the database (a data exception there), and refuse
 * a malformed cursor with a message that repeats it and has no code.
 */
export function relatedMaxSize(args: PageArgs): number {
  pageWindow(args);
  for (const name of ['after', 'before'] as const) {
    const cursor = args[name];
    if (cursor == null) continue;
    const decoded = BASE64.test(cursor) ? Buffer.from(cursor, 'base64').toString('utf8') : '';
    if (!decoded.startsWith('GPC:S:') || !UUID.test(decoded.slice(6))) {
      throw badUserInput(`Argument "${name}" is not a cursor of this list`);
    }
  }
  return MAX_PAGE_SIZE;
}

/** Newest first, the default order of every root list; the index (tenant_id, created_at, id) serves it. */
export const NEWEST_FIRST: SortKey[] = [
  { field: 'createdAt', direction: 'desc' },
  { field: 'id', direction: 'desc' },
];

/** The two calls of a Prisma model delegate a root list needs (method syntax: any model fits). */
interface ListDelegate<T> {
  findMany(args: { where: Where; orderBy: Record<string, unknown>[]; take: number }): Promise<T[]>;
  count(args: { where: Where }): Promise<number>;
}

/**
 * A root list: the rows of `delegate` matching `where` (which names the viewer's tenant), in
 * `order`, keyset-paginated, with the nested selection of the client's query planned into the
 * same Prisma query, and a count that runs only when `totalCount` is selected.
 */
export function rootList<T extends Row>(options: {
  context: object;
  info: GraphQLResolveInfo;
  args: PageArgs;
  delegate: ListDelegate<T>;
  where: Where;
  orderName: string;
  order: SortKey[];
}): Promise<KeysetPage<T>> {
  const query = queryFromInfo({ context: options.context, info: options.info, path: ['edges', 'node'] });
  const { delegate, where } = options;
  return keysetPage({
    args: options.args,
    orderName: options.orderName,
    order: options.order,
    fetch: (page) =>
      delegate.findMany({
        ...query,
        where: { AND: [where, page.where] },
        orderBy: page.orderBy,
        take: page.take,
      }),
    count: () => delegate.count({ where }),
  });
}

/**
 * The compiled query of a root list (src/compiled): the same `where` and order its resolver gives
 * `rootList`, paged by the same keysetQuery.
 */
export function rootListSql<A extends PageArgs>(spec: {
  where: (args: A, env: BindEnv) => Where;
  order: (args: A) => { name: string; keys: SortKey[] };
  /** The roles that may read it (the others get FORBIDDEN from the resolvers). */
  visibleTo?: (role: Role) => boolean;
}): FieldSql {
  return rootConnection({ ...spec, page: (args: A, order) => keysetQuery(args, order.name, order.keys) });
}
