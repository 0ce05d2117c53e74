import { UUID } from '../domain/ids.js';
import { type Column, type ColumnType, MODELS, SQL_TYPE } from './models.js';
import { arrayLiteral, lit, Untranslatable } from './sql.js';

/**
 * A translator from the Prisma `where`/`orderBy` objects the resolvers build to SQL, so that the
 * filters and keyset conditions have one definition (theirs). Anything it does not know is
 * Untranslatable: the request falls back to the resolvers.
 */
/**
 * A Prisma `where` as SQL over `alias`, its values appended to `values` and referenced as `{i}`
 * (the compiler turns them into `$n` parameters). The SQL text depends only on the structure of
 * the `where` (which operators, which values are null), never on the values: it is part of the
 * cache key of the compiled statement. Prisma's semantics: `{ f: null }` is IS NULL, `in: []`
 * matches nothing, `notIn: []` everything, an empty AND everything; `mode: 'insensitive'` is ILIKE.
 */
export function whereSql(modelName: string, where: unknown, alias: string, values: unknown[]): string {
  const model = MODELS[modelName];
  if (!model) throw new Untranslatable(`a filter on ${modelName}, not a model`);
  if (where === undefined) return 'TRUE';
  if (where === null || typeof where !== 'object' || Array.isArray(where))
    throw new Untranslatable('a where that is not an object');
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (key === 'AND' || key === 'OR') {
      const list = Array.isArray(value) ? value : [value];
      if (key === 'OR' && list.length === 0) throw new Untranslatable('OR of no condition');
      const sub = list.map((w) => whereSql(modelName, w, alias, values));
      parts.push(sub.length === 0 ? 'TRUE' : `(${sub.join(key === 'AND' ? ' AND ' : ' OR ')})`);
      continue;
    }
    if (key === 'NOT') throw new Untranslatable('NOT conditions');
    const relation = model.relations?.[key];
    if (relation) {
      const filter = value as Record<string, unknown>;
      if (Object.keys(filter).length !== 1 || !('some' in filter))
        throw new Untranslatable(`a filter on ${key} other than some`);
      const sub = `${alias}_${key}`;
      const link = relation.link
        .map(([child, parent]) => `${sub}.${child} = ${alias}.${parent}`)
        .join(' AND ');
      parts.push(
        `EXISTS (SELECT 1 FROM ${relation.table} ${sub} WHERE ${link} AND ${whereSql(relation.model, filter.some, sub, values)})`,
      );
      continue;
    }
    const column = model.columns[key];
    if (!column) throw new Untranslatable(`a filter on ${modelName}.${key}`);
    parts.push(fieldSql(`${alias}.${column.col}`, column, value, values));
  }
  return parts.length === 0 ? 'TRUE' : parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`;
}

function placeholder(values: unknown[], value: unknown, type: ColumnType): string {
  values.push(value);
  // A SMALLINT column compares with an int parameter as well; the bound is checked before.
  return `{${values.length - 1}}::${type === 'smallint' ? 'int' : SQL_TYPE[type]}`;
}

/** A filter value as a parameter: strings as they are, dates as ISO text, numbers and booleans as text. */
function scalarParam(value: unknown, type: ColumnType): unknown {
  if (type === 'ts') {
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw new Untranslatable('a date filter value that is not a date');
    return value.toISOString();
  }
  if (type === 'int' || type === 'smallint') {
    const max = type === 'int' ? 2147483647 : 32767;
    if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > max)
      throw new Untranslatable(`an ${type} filter value out of range`);
    return String(value);
  }
  // Filters on JSON and array columns are not translated.
  if (type === 'json' || type === 'text[]') throw new Untranslatable(`a filter on a ${type} column`);
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new Untranslatable('a boolean filter value that is not one');
    return String(value);
  }
  if (typeof value !== 'string') throw new Untranslatable('a text filter value that is not a string');
  if (type === 'uuid' && !UUID.test(value))
    throw new Untranslatable('a uuid filter value that is not a UUID');
  return value;
}

/** A value of an enum column's vocabulary as a literal; anything else as a parameter. */
function operand(values: unknown[], value: unknown, column: Column): string {
  if (typeof value === 'string' && column.vocab?.includes(value)) return `${lit(value)}::text`;
  return placeholder(values, scalarParam(value, column.type), column.type);
}

function fieldSql(col: string, column: Column, value: unknown, values: unknown[]): string {
  const { type } = column;
  if (value === null) return `${col} IS NULL`;
  if (typeof value !== 'object' || value instanceof Date) return `${col} = ${operand(values, value, column)}`;
  const ops = value as Record<string, unknown>;
  const insensitive = ops.mode === 'insensitive';
  if (ops.mode !== undefined && !insensitive) throw new Untranslatable('a mode other than insensitive');
  const parts: string[] = [];
  for (const [op, v] of Object.entries(ops)) {
    if (op === 'mode' || v === undefined) continue;
    if (insensitive) {
      if (type !== 'text' || typeof v !== 'string')
        throw new Untranslatable('an insensitive filter on a value that is not text');
      if (op === 'contains') parts.push(`${col}::text ILIKE ${placeholder(values, `%${v}%`, 'text')}`);
      else if (op === 'equals') parts.push(`${col}::text ILIKE ${placeholder(values, v, 'text')}`);
      else throw new Untranslatable(`the insensitive operator ${op}`);
      continue;
    }
    switch (op) {
      case 'equals':
        parts.push(v === null ? `${col} IS NULL` : `${col} = ${operand(values, v, column)}`);
        break;
      case 'not':
        if (v !== null) throw new Untranslatable('not with a value');
        parts.push(`${col} IS NOT NULL`);
        break;
      case 'in':
      case 'notIn': {
        if (!Array.isArray(v) || type !== 'text' || !v.every((x) => typeof x === 'string'))
          throw new Untranslatable(`${op} of values that are not text`);
        const { vocab } = column;
        // Sorted and without duplicates (neither changes what ANY/ALL match): the text of the
        // statement must not depend on the order or the repetitions a client chose.
        const list =
          vocab && v.every((x) => vocab.includes(x as string))
            ? `${lit(arrayLiteral([...new Set(v as string[])].sort()))}::text[]`
            : placeholder(values, arrayLiteral(v as string[]), 'text[]');
        parts.push(op === 'in' ? `${col} = ANY(${list})` : `${col} <> ALL(${list})`);
        break;
      }
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte': {
        if (v === null) throw new Untranslatable(`${op} null`);
        const sqlOp = { lt: '<', lte: '<=', gt: '>', gte: '>=' }[op];
        parts.push(`${col} ${sqlOp} ${operand(values, v, column)}`);
        break;
      }
      default:
        throw new Untranslatable(`the operator ${op}`);
    }
  }
  if (parts.length === 0) return 'TRUE';
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`;
}

/** A Prisma `orderBy` list (as the resolvers build it) as SQL over `alias`. */
export function orderBySql(
  modelName: string,
  orderBy: readonly Record<string, unknown>[],
  alias: string,
): string {
  const model = MODELS[modelName];
  if (!model) throw new Untranslatable(`an order of ${modelName}, not a model`);
  return orderBy
    .map((entry) => {
      const keys = Object.keys(entry);
      if (keys.length !== 1) throw new Untranslatable('an orderBy entry of several fields');
      const field = keys[0] as string;
      const column = model.columns[field];
      if (!column) throw new Untranslatable(`an order by ${modelName}.${field}`);
      const spec = entry[field];
      if (spec === 'asc' || spec === 'desc') return `${alias}.${column.col} ${spec.toUpperCase()}`;
      const { sort, nulls } = spec as { sort?: unknown; nulls?: unknown };
      if ((sort !== 'asc' && sort !== 'desc') || (nulls !== 'first' && nulls !== 'last'))
        throw new Untranslatable(`an order by ${field} of an unknown kind`);
      return `${alias}.${column.col} ${sort.toUpperCase()} NULLS ${nulls.toUpperCase()}`;
    })
    .join(', ');
}
