import { CHECKED_COLUMNS } from '../domain/vocabulary.js';
import { getTableModels } from '../generated/table-models.js';
import type { TableField, TableModel } from './table-model.js';

/**
 * The tables of prisma/schema.prisma as the compiler writes SQL over them: Prisma field names
 * (the names of the resolvers' `where`/`orderBy` objects) to columns, and relations to the column
 * pairs that join them. Derived from the datamodel at start; only the vocabularies of the CHECK
 * constraints, which the datamodel cannot state, come from src/domain/vocabulary.ts.
 */

export type ColumnType =
  | 'uuid'
  | 'text'
  | 'ts'
  | 'int'
  | 'smallint'
  | 'bool'
  | 'float'
  | 'json'
  | 'text[]'
  | 'bigint';

/** The PostgreSQL type of each column type: what a parameter for such a column is cast to. */
export const SQL_TYPE: Readonly<Record<ColumnType, string>> = {
  uuid: 'uuid',
  text: 'text',
  ts: 'timestamptz',
  int: 'integer',
  smallint: 'smallint',
  bool: 'boolean',
  float: 'float8',
  json: 'jsonb',
  'text[]': 'text[]',
  bigint: 'bigint',
};

/**
 * A column: `vocab`, for the enum columns, is their vocabulary (the CHECK constraints of the
 * migrations): a filter value from it is written into the statement as a literal, not a
 * parameter. These come from GraphQL enums, so a statement has few such texts, and its generic
 * plan (prepared statements) still sees them: a partial index on `status IN ('pending',
 * 'in_progress')` serves `status = ANY('{pending,in_progress}')` only when the planner sees the
 * values. Anything else stays a parameter.
 */
export interface Column {
  col: string;
  type: ColumnType;
  vocab?: readonly string[];
}

export interface Relation {
  model: string;
  table: string;
  /** [column of the related table, column of this one] pairs: the join condition. */
  link: [string, string][];
}

export interface Model {
  table: string;
  columns: Record<string, Column>;
  relations: Record<string, Relation>;
}

export const MODELS: Readonly<Record<string, Model>> = deriveModels(getTableModels());

/** The model `name`; a name that is not one is a mistake of the code, not of the request. */
export function modelNamed(name: string): Model {
  const model = MODELS[name];
  if (!model) throw new Error(`no model ${name} in prisma/schema.prisma`);
  return model;
}

/** The column of a model's scalar field, for the field helpers: a wrong name is a mistake of the code. */
export function columnOf(modelName: string, field: string): Column {
  const column = modelNamed(modelName).columns[field];
  if (!column) throw new Error(`${modelName}.${field} is not a column`);
  return column;
}

/** A relation field of a model, for the field helpers: a wrong name is a mistake of the code. */
export function relationOf(modelName: string, field: string): Relation {
  const relation = modelNamed(modelName).relations[field];
  if (!relation) throw new Error(`${modelName}.${field} is not a relation`);
  return relation;
}

function deriveModels(tables: Record<string, TableModel>): Record<string, Model> {
  const models: Record<string, Model> = {};
  for (const [name, table] of Object.entries(tables)) {
    const columns: Record<string, Column> = {};
    for (const field of table.fields) {
      if (field.column === null) continue;
      const vocab = CHECKED_COLUMNS[name]?.[field.name];
      const type = columnType(name, field);
      columns[field.name] = vocab ? { col: field.column, type, vocab } : { col: field.column, type };
    }
    models[name] = { table: table.table, columns, relations: {} };
  }
  for (const [name, table] of Object.entries(tables)) {
    for (const field of table.fields) {
      if (field.relation) (models[name] as Model).relations[field.name] = relation(tables, name, field);
    }
  }
  for (const [name, fields] of Object.entries(CHECKED_COLUMNS)) {
    for (const field of Object.keys(fields)) {
      if (models[name]?.columns[field]?.type !== 'text') {
        throw new Error(`CHECKED_COLUMNS: ${name}.${field} is not a text column of prisma/schema.prisma`);
      }
    }
  }
  return models;
}

function columnType(model: string, field: TableField): ColumnType {
  if (field.isList) {
    if (field.type === 'String') return 'text[]';
  } else if (field.type === 'String') {
    return field.nativeType === 'Uuid' ? 'uuid' : 'text';
  } else if (field.type === 'Int') {
    return field.nativeType === 'SmallInt' ? 'smallint' : 'int';
  } else {
    const type = (
      { DateTime: 'ts', Boolean: 'bool', Float: 'float', Json: 'json', BigInt: 'bigint' } as const
    )[field.type];
    if (type) return type;
  }
  throw new Error(`${model}.${field.name}: the compiler has no SQL type for ${field.type}`);
}

/**
 * The join of a relation field. The side with the foreign key names its own columns (`fields:`)
 * and the other side's (`references:`); the other side of the relation reads them from there.
 */
function relation(tables: Record<string, TableModel>, modelName: string, field: TableField): Relation {
  const own = tables[modelName] as TableModel;
  const related = tables[field.type];
  const spec = field.relation;
  if (!related || !spec) throw new Error(`${modelName}.${field.name}: no related model ${field.type}`);
  let relatedFields = spec.to;
  let ownFields = spec.from;
  if (spec.from.length === 0) {
    const counterpart = related.fields.find(
      (f) => f !== field && f.relation?.name === spec.name && f.relation.from.length > 0,
    )?.relation;
    if (!counterpart) throw new Error(`${modelName}.${field.name}: no other side of ${spec.name}`);
    relatedFields = counterpart.from;
    ownFields = counterpart.to;
  }
  const column = (model: TableModel, name: string | undefined) => {
    const found = model.fields.find((f) => f.name === name)?.column;
    if (!found) throw new Error(`${modelName}.${field.name}: ${name} is not a column`);
    return found;
  };
  return {
    model: field.type,
    table: related.table,
    link: relatedFields.map((f, i): [string, string] => [column(related, f), column(own, ownFields[i])]),
  };
}
