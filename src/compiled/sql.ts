/**
 * SQL building blocks of the compiled queries: values as the API serializes them (timestamps,
 * enums, global ids, cursors), the sentinel that sends a request back to the resolvers, and a
 * translator from the Prisma `where`/`orderBy` objects the resolvers build to SQL, so that the
 * filters and keyset conditions have one definition (theirs).
 */

/**
 * Stands in for a value the compiled SQL cannot render exactly as the resolvers would (a row that
 * breaks an invariant the resolvers would report as an error, a string the resolvers compare with
 * JavaScript's case rules). Its text form `"\u0000"` cannot come from data: PostgreSQL text and
 * jsonb cannot hold U+0000, and an escaped quote or backslash before it reads differently.
 */
export const SENTINEL = `'"\\u0000"'::json`;
export const SENTINEL_TEXT = '"\\u0000"';

/** A SQL string literal of a constant of ours (never a client's value: those are parameters). */
export function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const TS_FORMAT = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** Date.prototype.toISOString for years 0001..9999; other instants fall back. */
export function timestampJson(expr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN NULL WHEN ${expr} >= '0001-01-01 00:00:00+00' AND ${expr} < '10000-01-01 00:00:00+00' THEN to_json(to_char(${expr} AT TIME ZONE 'UTC', ${TS_FORMAT})) ELSE ${SENTINEL} END`;
}

/** The text of `expr` (a timestamptz) as toISOString writes it; NULL for instants out of range. */
export function timestampText(expr: string): string {
  return `CASE WHEN ${expr} >= '0001-01-01 00:00:00+00' AND ${expr} < '10000-01-01 00:00:00+00' THEN to_char(${expr} AT TIME ZONE 'UTC', ${TS_FORMAT}) END`;
}

/** Pothos relay's global id: base64 of `Type:uuid` (always shorter than PostgreSQL's 76-column wrap). */
export function globalIdExpr(typename: string, idExpr: string): string {
  return `encode(convert_to(${lit(`${typename}:`)} || ${idExpr}::text, 'UTF8'), 'base64')`;
}

/** A PostgreSQL array literal of strings, passed as one text parameter and cast (`::text[]`). */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

export type ColumnType = 'uuid' | 'text' | 'ts' | 'int' | 'bool' | 'float';

export interface Relation {
  table: string;
  model: string;
  /** [child column, parent column] pairs. */
  link: [string, string][];
}

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

export interface Model {
  table: string;
  columns: Record<string, Column>;
  relations?: Record<string, Relation>;
}

const c = (col: string, type: ColumnType, vocab?: readonly string[]): Column =>
  vocab ? { col, type, vocab } : { col, type };

const CASE_STATUS = ['pending', 'approved', 'denied', 'more_info_needed'];
const TASK_STATUS = ['pending', 'in_progress', 'completed', 'cancelled'];
const PRIORITY = ['low', 'normal', 'high', 'urgent'];

export const MODELS: Record<string, Model> = {
  Case: {
    table: 'cases',
    columns: {
      id: c('id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      ingestionId: c('ingestion_id', 'uuid'),
      createdBy: c('created_by', 'uuid'),
      memberIdHash: c('member_id_hash', 'text'),
      payer: c('payer', 'text'),
      status: c('status', 'text', CASE_STATUS),
      priority: c('priority', 'text', PRIORITY),
      priorityRank: c('priority_rank', 'int'),
      createdAt: c('created_at', 'ts'),
      updatedAt: c('updated_at', 'ts'),
    },
    relations: {
      codes: {
        table: 'case_codes',
        model: 'CaseCode',
        link: [
          ['case_id', 'id'],
          ['tenant_id', 'tenant_id'],
        ],
      },
    },
  },
  CaseCode: {
    table: 'case_codes',
    columns: {
      id: c('id', 'uuid'),
      caseId: c('case_id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      codeType: c('code_type', 'text', ['CPT', 'HCPCS']),
      code: c('code', 'text'),
      createdAt: c('created_at', 'ts'),
    },
  },
  Task: {
    table: 'tasks',
    columns: {
      id: c('id', 'uuid'),
      caseId: c('case_id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      assignedTo: c('assigned_to', 'uuid'),
      title: c('title', 'text'),
      status: c('status', 'text', TASK_STATUS),
      priority: c('priority', 'text', PRIORITY),
      priorityRank: c('priority_rank', 'int'),
      dueDate: c('due_date', 'ts'),
      completedAt: c('completed_at', 'ts'),
      createdAt: c('created_at', 'ts'),
      updatedAt: c('updated_at', 'ts'),
    },
  },
  User: {
    table: 'users',
    columns: {
      id: c('id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      role: c('role', 'text', ['admin', 'clinician', 'staff']),
      email: c('email', 'text'),
      createdAt: c('created_at', 'ts'),
    },
  },
  Ingestion: {
    table: 'ingestions',
    columns: {
      id: c('id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      status: c('status', 'text', ['pending', 'processing', 'completed', 'failed']),
      createdAt: c('created_at', 'ts'),
    },
  },
  Ruleset: {
    table: 'rulesets',
    columns: {
      id: c('id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      payer: c('payer', 'text'),
      procedure: c('procedure', 'text'),
      isActive: c('is_active', 'bool'),
      createdAt: c('created_at', 'ts'),
    },
  },
  Event: {
    table: 'events',
    columns: {
      id: c('id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      entityId: c('entity_id', 'uuid'),
      entityType: c('entity_type', 'text'),
      eventType: c('event_type', 'text'),
      createdAt: c('created_at', 'ts'),
    },
  },
  AuditLog: {
    table: 'audit_logs',
    columns: {
      id: c('id', 'uuid'),
      tenantId: c('tenant_id', 'uuid'),
      entityId: c('entity_id', 'uuid'),
      action: c('action', 'text', ['create', 'update', 'delete', 'view']),
      createdAt: c('created_at', 'ts'),
    },
  },
};

/** Thrown for any `where`/`orderBy` this translator does not know: the request falls back. */
export class Untranslatable extends Error {}

/**
 * A Prisma `where` as SQL over `alias`, its values appended to `values` and referenced as `{i}`
 * (the compiler turns them into `$n` parameters). The SQL text depends only on the structure of
 * the `where` (which operators, which values are null), never on the values: it is part of the
 * cache key of the compiled statement. Prisma's semantics: `{ f: null }` is IS NULL, `in: []`
 * matches nothing, `notIn: []` everything, an empty AND everything; `mode: 'insensitive'` is ILIKE.
 */
export function whereSql(modelName: string, where: unknown, alias: string, values: unknown[]): string {
  const model = MODELS[modelName];
  if (!model) throw new Untranslatable(modelName);
  if (where === undefined) return 'TRUE';
  if (where === null || typeof where !== 'object' || Array.isArray(where)) throw new Untranslatable('where');
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (key === 'AND' || key === 'OR') {
      const list = Array.isArray(value) ? value : [value];
      if (key === 'OR' && list.length === 0) throw new Untranslatable('OR []');
      const sub = list.map((w) => whereSql(modelName, w, alias, values));
      parts.push(sub.length === 0 ? 'TRUE' : `(${sub.join(key === 'AND' ? ' AND ' : ' OR ')})`);
      continue;
    }
    if (key === 'NOT') throw new Untranslatable('NOT');
    const relation = model.relations?.[key];
    if (relation) {
      const filter = value as Record<string, unknown>;
      if (Object.keys(filter).length !== 1 || !('some' in filter)) throw new Untranslatable(key);
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
    if (!column) throw new Untranslatable(key);
    parts.push(fieldSql(`${alias}.${column.col}`, column, value, values));
  }
  return parts.length === 0 ? 'TRUE' : parts.length === 1 ? (parts[0] as string) : `(${parts.join(' AND ')})`;
}

function placeholder(values: unknown[], value: unknown, type: ColumnType | 'text[]'): string {
  values.push(value);
  return `{${values.length - 1}}::${SQL_TYPES[type]}`;
}

const SQL_TYPES: Record<ColumnType | 'text[]', string> = {
  uuid: 'uuid',
  text: 'text',
  ts: 'timestamptz',
  int: 'int',
  bool: 'boolean',
  float: 'float8',
  'text[]': 'text[]',
};

/** A filter value as a parameter: strings as they are, dates as ISO text, numbers and booleans as text. */
function scalarParam(value: unknown, type: ColumnType): unknown {
  if (type === 'ts') {
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new Untranslatable('date');
    return value.toISOString();
  }
  if (type === 'int') {
    if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 32767)
      throw new Untranslatable('int');
    return String(value);
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new Untranslatable('bool');
    return String(value);
  }
  if (typeof value !== 'string') throw new Untranslatable('string');
  if (type === 'uuid' && !UUID.test(value)) throw new Untranslatable('uuid');
  return value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  if (ops.mode !== undefined && !insensitive) throw new Untranslatable('mode');
  const parts: string[] = [];
  for (const [op, v] of Object.entries(ops)) {
    if (op === 'mode' || v === undefined) continue;
    if (insensitive) {
      if (type !== 'text' || typeof v !== 'string') throw new Untranslatable('insensitive');
      if (op === 'contains') parts.push(`${col}::text ILIKE ${placeholder(values, `%${v}%`, 'text')}`);
      else if (op === 'equals') parts.push(`${col}::text ILIKE ${placeholder(values, v, 'text')}`);
      else throw new Untranslatable(op);
      continue;
    }
    switch (op) {
      case 'equals':
        parts.push(v === null ? `${col} IS NULL` : `${col} = ${operand(values, v, column)}`);
        break;
      case 'not':
        if (v !== null) throw new Untranslatable('not');
        parts.push(`${col} IS NOT NULL`);
        break;
      case 'in':
      case 'notIn': {
        if (!Array.isArray(v) || type !== 'text' || !v.every((x) => typeof x === 'string'))
          throw new Untranslatable(op);
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
        if (v === null) throw new Untranslatable(op);
        const sqlOp = { lt: '<', lte: '<=', gt: '>', gte: '>=' }[op];
        parts.push(`${col} ${sqlOp} ${operand(values, v, column)}`);
        break;
      }
      default:
        throw new Untranslatable(op);
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
  if (!model) throw new Untranslatable(modelName);
  return orderBy
    .map((entry) => {
      const keys = Object.keys(entry);
      if (keys.length !== 1) throw new Untranslatable('orderBy');
      const field = keys[0] as string;
      const column = model.columns[field];
      if (!column) throw new Untranslatable(field);
      const spec = entry[field];
      if (spec === 'asc' || spec === 'desc') return `${alias}.${column.col} ${spec.toUpperCase()}`;
      const { sort, nulls } = spec as { sort?: unknown; nulls?: unknown };
      if ((sort !== 'asc' && sort !== 'desc') || (nulls !== 'first' && nulls !== 'last'))
        throw new Untranslatable('orderBy');
      return `${alias}.${column.col} ${sort.toUpperCase()} NULLS ${nulls.toUpperCase()}`;
    })
    .join(', ');
}
