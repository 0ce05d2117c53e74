import type { FieldNode, GraphQLObjectType } from 'graphql';
import {
  type ConnectionPart,
  compiling,
  type FieldSql,
  type RowCx,
  type Rows,
  rowField,
  selection,
} from './field-sql.js';
import { type BindEnv, type Builder, type Emit, type Gen, objectTypeOf } from './gen.js';
import { relationOf } from './models.js';
import { lit, Untranslatable } from './sql.js';
import { orderBySql, whereSql } from './where.js';

/**
 * Connections: a page of rows in one subquery, and the connection's selection (edges, pageInfo,
 * totalCount, each by its own declared SQL, src/compiled/relay-fields.ts) over it. The fields
 * that list (root lists, nested connections, Case.events) say how to fetch the page.
 */

/** A connection's selection over the page rows aliased `row`; the rows come per request shape. */
function connectionEmit(
  b: Builder,
  type: GraphQLObjectType,
  row: string,
  nodes: readonly FieldNode[],
): (g: Gen, rows: Rows) => string {
  const parts: [Emit, ConnectionPart][] = [];
  let readsRows = false;
  /** pageInfo reads the extra row and the first/last of `__n`. */
  let numbered = false;
  for (const { key, nodes: fieldNodes, field } of selection(b, type, nodes, 'connection')) {
    if (!field) {
      const typename = `${lit(type.name)}::text`;
      parts.push([key, { emit: () => typename, readsRows: false, numbersRows: false }]);
      continue;
    }
    const cx = { b, row, parent: type, def: field.def, nodes: fieldNodes };
    const part = compiling(type, field.def, () => field.sql.compile(cx));
    readsRows ||= part.readsRows;
    numbered ||= part.numbersRows;
    parts.push([key, part]);
  }
  return (g, rows) => {
    const object = `json_build_object(${parts.map(([key, part]) => `${key(g)}, ${part.emit(rows, g, numbered)}`).join(', ')})`;
    return readsRows ? `(SELECT ${object} FROM ${rows.from(numbered || rows.backward)})` : object;
  };
}

/** The node type of a connection type (`edges.node`). */
export function nodeTypeOf(connection: GraphQLObjectType): GraphQLObjectType {
  const edges = connection.getFields().edges;
  const node = edges && objectTypeOf(edges).getFields().node;
  if (!node) throw new Untranslatable(`${connection.name} is not a connection`);
  return objectTypeOf(node);
}

/** The request shape of a page: what its SQL text depends on beyond the selection. */
export interface PageShape {
  size: number;
  take: number;
  backward: boolean;
}

/** One request shape of a connection field, while its SQL is generated. */
export interface Page<S> {
  g: Gen;
  shape: S;
  /** A fragment of the bind's SQL with its `{j}` placeholders as parameters. */
  fill: (fragment: string) => string;
}

/**
 * A connection field's SQL: `bind` turns one request's arguments into the shape of its SQL (the
 * cache key) and the values that fill it (it throws Untranslatable, or the resolvers' own error
 * for arguments they refuse: they answer then); `rows` gives the page's rows for a shape.
 */
export function emitConnection<S extends PageShape>(
  cx: RowCx,
  spec: {
    bind: (args: Record<string, unknown>, env: BindEnv) => { shape: S; values: unknown[] };
    rows: (page: Page<S>, row: string) => Rows;
  },
): Emit {
  const row = cx.b.alias('r');
  const emit = connectionEmit(cx.b, objectTypeOf(cx.def), row, cx.nodes);
  const site = cx.b.site(cx.parent, cx.def, cx.nodes[0] as FieldNode, (args, env) => {
    const { shape, values } = spec.bind(args, env);
    return { key: JSON.stringify(shape), values, shape };
  });
  return (g) => {
    const page = { g, shape: g.shape(site) as S, fill: (fragment: string) => g.fill(site, fragment) };
    return emit(g, spec.rows(page, row));
  };
}

/**
 * `SELECT … LIMIT` in the fetch order: the FROM item of a page. Numbered: `take` rows (the page and
 * the one beyond it) with `__n`; otherwise the `size` rows of the page, in their order.
 */
export function pageFrom(
  table: string,
  where: string,
  order: { x: string; q: string },
  page: { size: number; take: number },
  row: string,
  numbered: boolean,
) {
  for (const n of [page.size, page.take]) {
    if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Untranslatable('a page size out of range');
  }
  if (!numbered)
    return `(SELECT * FROM ${table} x WHERE ${where} ORDER BY ${order.x} LIMIT ${page.size}) ${row}`;
  return `(SELECT q.*, row_number() OVER (ORDER BY ${order.q}) AS __n FROM (SELECT * FROM ${table} x WHERE ${where} ORDER BY ${order.x} LIMIT ${page.take}) q) ${row}`;
}

/** Prisma's order for a negative `take`: every key reversed, NULLS placement with it. */
function reversedOrderBy(orderBy: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return orderBy.map((entry) =>
    Object.fromEntries(
      Object.entries(entry).map(([field, spec]) => {
        if (spec === 'asc' || spec === 'desc') return [field, spec === 'asc' ? 'desc' : 'asc'];
        const { sort, nulls } = spec as { sort: string; nulls: string };
        return [field, { sort: sort === 'asc' ? 'desc' : 'asc', nulls: nulls === 'last' ? 'first' : 'last' }];
      }),
    ),
  );
}

/** Pothos' cursor of a related connection on `id`: base64 of `GPC:S:<id>`. */
const idCursor = (row: string) =>
  `to_json(encode(convert_to('GPC:S:' || ${row}.id::text, 'UTF8'), 'base64'))`;

interface RelatedShape extends PageShape {
  where: string;
  orderX: string;
  orderQ: string;
}

/**
 * A related connection planned by Pothos (`t.relatedConnection` with cursor: 'id'), by its relation
 * in the datamodel: `take` first+1 (or -(last+1)), the field's own `query` (filter, order), its
 * count with the same `where`. Pages after or before a cursor are left to the resolvers.
 */
export function relatedConnection<A>(
  relationName: string,
  query: (args: A) => { where?: unknown; orderBy: readonly Record<string, unknown>[] },
): FieldSql {
  return rowField((cx) => {
    if (!cx.model)
      throw new Error(`${cx.parent.name}.${cx.def.name}: a relation of an object not read from a table`);
    const relation = relationOf(cx.model, relationName);
    const link = relation.link.map(([theirs, ours]) => `x.${theirs} = ${cx.alias}.${ours}`).join(' AND ');
    return emitConnection<RelatedShape>(cx, {
      bind: (args) => {
        if (args.after != null || args.before != null) {
          throw new Untranslatable('a nested page after or before a cursor');
        }
        const planned = query(args as A);
        const backward = args.last != null;
        const size = Math.min(((args.first ?? args.last) as number | null | undefined) ?? 20, 100);
        const values: unknown[] = [];
        const orderBy = backward ? reversedOrderBy(planned.orderBy) : planned.orderBy;
        const shape = {
          where: whereSql(relation.model, planned.where, 'x', values),
          orderX: orderBySql(relation.model, orderBy, 'x'),
          orderQ: orderBySql(relation.model, orderBy, 'q'),
          take: size + 1,
          size,
          backward,
        };
        return { shape, values };
      },
      rows: ({ shape, fill }, row) => {
        const where = () => `${link} AND ${fill(shape.where)}`;
        return {
          from: (numbered) =>
            pageFrom(relation.table, where(), { x: shape.orderX, q: shape.orderQ }, shape, row, numbered),
          size: shape.size,
          backward: shape.backward,
          cursorGiven: false,
          count: () => `(SELECT count(*) FROM ${relation.table} x WHERE ${where()})`,
          cursor: idCursor(row),
        };
      },
    });
  });
}
