import { type GraphQLField, getNamedType, isEnumType, isNonNullType } from 'graphql';
import { type FieldSql, type RowCx, rowField } from './field-sql.js';
import { type Gen, objectTypeOf } from './gen.js';
import { columnOf, MODELS, type Relation, relationOf } from './models.js';
import { objectEmit, valueObjectEmit } from './objects.js';
import { globalIdExpr, lit, SENTINEL, timestampJson } from './sql.js';
import { orderBySql } from './where.js';

/**
 * The SQL of the usual fields of an object read from a table row, for `extensions: { sql }`.
 * Fields are named as in prisma/schema.prisma (`column('memberIdHash')`); the column comes from
 * the datamodel. Nullability is the GraphQL field's own.
 */

const nullable = (def: GraphQLField<unknown, unknown>) => !isNonNullType(def.type);

function modelOf({ model, parent, def }: RowCx): string {
  if (!model) throw new Error(`${parent.name}.${def.name}: a column of an object not read from a table`);
  return model;
}

/** The column of the row's field `field`, qualified by the row's alias. */
export function columnSql(cx: RowCx, field: string): string {
  return `${cx.alias}.${columnOf(modelOf(cx), field).col}`;
}

/** The column as it is (text, numbers, booleans, uuids). */
export const column = (field: string): FieldSql =>
  rowField((cx) => {
    const sql = columnSql(cx, field);
    return () => sql;
  });

/** Whether the column is NULL: a flag the API derives from a nullable column (User.isActive). */
export const isNull = (field: string): FieldSql =>
  rowField((cx) => {
    const sql = `(${columnSql(cx, field)} IS NULL)`;
    return () => sql;
  });

/** A timestamptz as the API's DateTime (toISOString). */
export const timestamp = (field: string): FieldSql =>
  rowField((cx) => {
    const sql = timestampJson(columnSql(cx, field));
    return () => sql;
  });

/** The relay global id of the row: every node's id is its `id` column (prismaNode `id: { field: 'id' }`). */
export const nodeId: FieldSql = rowField(({ alias, parent }) => {
  const sql = globalIdExpr(parent.name, `${alias}.id`);
  return () => sql;
});

/** The stored vocabulary word as the GraphQL enum's name, from the schema's own value table. */
export const enumOf = (field: string): FieldSql =>
  rowField((cx) => {
    const type = getNamedType(cx.def.type);
    if (!isEnumType(type)) throw new Error(`${cx.parent.name}.${cx.def.name} is not an enum`);
    const whens = type
      .getValues()
      .map((v) => `WHEN ${lit(String(v.value))} THEN ${lit(JSON.stringify(v.name))}::json`)
      .join(' ');
    const sql = `CASE ${columnSql(cx, field)} ${whens} ELSE ${SENTINEL} END`;
    return () => sql;
  });

/**
 * A jsonb column the API exposes as JSON: its text form parses to what Prisma returns. A non-null
 * field holding SQL NULL or JSON null would be a resolver error: the request falls back.
 */
export const jsonColumn = (field: string): FieldSql =>
  rowField((cx) => {
    const col = columnSql(cx, field);
    const sql = nullable(cx.def)
      ? col
      : `CASE WHEN ${col} IS NULL OR ${col} = 'null'::jsonb THEN ${SENTINEL} ELSE ${col}::json END`;
    return () => sql;
  });

/** An object type computed from the jsonb column `field` (Confidence, RulesetRules): its fields are `valueField`s. */
export const jsonObject = (field: string): FieldSql =>
  rowField((cx) => valueObjectEmit(cx.b, objectTypeOf(cx.def), columnSql(cx, field), cx.nodes));

/**
 * The join of `relation` from the row `alias` to the related row `related`. Every subquery names
 * the tenant: through the composite key where the relation has one, else as the request's.
 */
function joinSql(relation: Relation, related: string, alias: string, g: Gen): string {
  const link = relation.link.map(([theirs, ours]) => `${related}.${theirs} = ${alias}.${ours}`);
  const tenant = MODELS[relation.model]?.columns.tenantId?.col;
  if (tenant && !relation.link.some(([theirs]) => theirs === tenant)) {
    link.push(`${related}.${tenant} = ${g.tenant()}`);
  }
  return link.join(' AND ');
}

/** A to-one relation of the row (`t.relation`), by its name in the datamodel. */
export const toOne = (relationName: string): FieldSql =>
  rowField((cx) => {
    const { b, alias, def } = cx;
    const relation = relationOf(modelOf(cx), relationName);
    const related = b.alias('o');
    const inner = objectEmit(b, objectTypeOf(def), related, cx.nodes);
    return (g) => {
      const join = joinSql(relation, related, alias, g);
      const sql = `(SELECT ${inner(g)} FROM ${relation.table} ${related} WHERE ${join})`;
      return nullable(def) ? sql : `coalesce(${sql}, ${SENTINEL})`;
    };
  });

/** A to-many relation of the row as a list (`t.relation`), in the order its resolver asks for. */
export const toMany = (relationName: string, orderBy: readonly Record<string, unknown>[]): FieldSql =>
  rowField((cx) => {
    const { b, alias } = cx;
    const relation = relationOf(modelOf(cx), relationName);
    const related = b.alias('k');
    const inner = objectEmit(b, objectTypeOf(cx.def), related, cx.nodes);
    const order = orderBySql(relation.model, orderBy, related);
    return (g) => {
      const join = joinSql(relation, related, alias, g);
      return `(SELECT coalesce(json_agg(${inner(g)} ORDER BY ${order}), '[]'::json) FROM ${relation.table} ${related} WHERE ${join})`;
    };
  });
