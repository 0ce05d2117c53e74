import { type FieldNode, isNonNullType } from 'graphql';
import type { Role } from '../domain/vocabulary.js';
import { emitConnection, nodeTypeOf, pageFrom } from './connections.js';
import { type FieldSql, type RowCx, rowField } from './field-sql.js';
import { type BindEnv, type Emit, type Gen, objectTypeOf, type Site } from './gen.js';
import { columnOf, modelNamed } from './models.js';
import { objectEmit, rowModelOf } from './objects.js';
import { lit, SENTINEL, timestampText, Untranslatable } from './sql.js';
import { orderBySql, whereSql } from './where.js';

/**
 * The SQL of Query's fields: root lists with keyset cursors, and single rows (by id, the viewer,
 * the tenant). Their filters and pages are the resolvers' own, built by the helpers they pass in.
 */

/** A list order: its name (in the cursor) and the fields it sorts by, the id last. */
export interface ListOrder {
  name: string;
  keys: readonly { field: string }[];
}

/** A root list's page as its resolver asks Prisma for it (src/schema/common/pagination.ts keysetQuery). */
export interface KeysetPageQuery {
  where: unknown;
  orderBy: Record<string, unknown>[];
  take: number;
  size: number;
  backward: boolean;
  cursor: string | null;
}

/** JSON.stringify of a sort key's value as encodeCursor writes it (`{"d": iso}` for dates). */
function cursorValueText(model: string, field: string, row: string): string {
  const column = columnOf(model, field);
  const expr = `${row}.${column.col}`;
  if (column.type === 'ts')
    return `CASE WHEN ${expr} IS NULL THEN 'null' ELSE '{"d":"' || ${timestampText(expr)} || '"}' END`;
  return `coalesce(to_json(${expr})::text, 'null')`;
}

/** The root lists' keyset cursor (pagination.ts encodeCursor), base64url. */
function keysetCursor(model: string, orderName: string, fields: readonly string[], row: string): string {
  const json = [
    lit(`[${JSON.stringify(orderName)}`),
    ...fields.map((field) => cursorValueText(model, field, row)),
  ].join(" || ',' || ");
  return `coalesce(to_json(translate(encode(convert_to(${json} || ']', 'UTF8'), 'base64'), E'+/=\\n', '-_')), ${SENTINEL})`;
}

interface RootShape {
  where: string;
  keyset: string;
  orderX: string;
  orderQ: string;
  take: number;
  size: number;
  backward: boolean;
  cursorGiven: boolean;
  orderName: string;
  cursorFields: string[];
}

/**
 * A root list (a connection of Query): the rows of its node type matching the resolver's `where`,
 * paged as its keyset pagination pages them (`page`: its own checks of the page arguments and the
 * cursor, its `where`/`orderBy`/`take`). A page of no rows is left to the resolvers, as is a list
 * the viewer's role may not read (`visibleTo`: the resolvers raise FORBIDDEN).
 */
export function rootConnection<A, O extends ListOrder>(spec: {
  where: (args: A, env: BindEnv) => unknown;
  order: (args: A) => O;
  page: (args: A, order: O) => KeysetPageQuery;
  visibleTo?: (role: Role) => boolean;
}): FieldSql {
  return rowField((cx) => {
    if (spec.visibleTo && !spec.visibleTo(cx.b.role)) throw new Untranslatable('not readable by the role');
    const model = rowModelOf(nodeTypeOf(objectTypeOf(cx.def)));
    const { table } = modelNamed(model);
    return emitConnection<RootShape>(cx, {
      bind: (args, env) => {
        const where = spec.where(args as A, env);
        const order = spec.order(args as A);
        const page = spec.page(args as A, order);
        if (page.size === 0) throw new Untranslatable('a page of no rows');
        const values: unknown[] = [];
        const shape = {
          where: whereSql(model, where, 'x', values),
          keyset: whereSql(model, page.where, 'x', values),
          orderX: orderBySql(model, page.orderBy, 'x'),
          orderQ: orderBySql(model, page.orderBy, 'q'),
          take: page.take,
          size: page.size,
          backward: page.backward,
          cursorGiven: page.cursor !== null,
          orderName: order.name,
          cursorFields: order.keys.map((key) => key.field),
        };
        return { shape, values };
      },
      rows: ({ shape, fill }, row) => {
        // Lazily: a parameter the statement does not reference has no type (a connection that
        // selects only __typename reads nothing).
        const where = () => fill(shape.where);
        return {
          from: (numbered) =>
            pageFrom(
              table,
              `${where()} AND ${fill(shape.keyset)}`,
              { x: shape.orderX, q: shape.orderQ },
              shape,
              row,
              numbered,
            ),
          size: shape.size,
          backward: shape.backward,
          cursorGiven: shape.cursorGiven,
          count: () => `(SELECT count(*) FROM ${table} x WHERE ${where()})`,
          cursor: keysetCursor(model, shape.orderName, shape.cursorFields, row),
        };
      },
    });
  });
}

/**
 * The one row of the field's type where `condition` holds, or null; for a non-null field, none
 * leaves the request to the resolvers. `bind` reads the field's arguments per request.
 */
function singleRowEmit(
  cx: RowCx,
  condition: (g: Gen, row: string, site: number) => string,
  bind?: Site['bind'],
): Emit {
  const type = objectTypeOf(cx.def);
  const { table } = modelNamed(rowModelOf(type));
  const row = cx.b.alias('r');
  const inner = objectEmit(cx.b, type, row, cx.nodes);
  const site = bind ? cx.b.site(cx.parent, cx.def, cx.nodes[0] as FieldNode, bind) : -1;
  const required = isNonNullType(cx.def.type);
  return (g) => {
    const sql = `(SELECT ${inner(g)} FROM ${table} ${row} WHERE ${condition(g, row, site)})`;
    return required ? `coalesce(${sql}, ${SENTINEL})` : sql;
  };
}

/** The one row where `condition` holds (`me`, `tenant`). */
export const singleRow = (condition: (g: Gen, row: string) => string): FieldSql =>
  rowField((cx) => singleRowEmit(cx, condition));

/** The tenant's row with the id `rowId` reads from the arguments (it throws for an id it refuses). */
export const rowById = <A>(rowId: (args: A) => string): FieldSql =>
  rowField((cx) =>
    singleRowEmit(
      cx,
      (g, row, site) => `${row}.id = ${g.fill(site, '{0}')}::uuid AND ${row}.tenant_id = ${g.tenant()}`,
      (args) => ({ key: '', values: [rowId(args as A)], shape: {} }),
    ),
  );
