import type { FieldNode, GraphQLField, GraphQLObjectType } from 'graphql';
import { type Builder, type Emit, type Gen, jsonKey } from './gen.js';
import { Untranslatable } from './sql.js';

/**
 * How a field declares its SQL: `extensions: { sql }` on the Pothos field, read by the compiler
 * from the built schema (`GraphQLField.extensions`). The kind says where the field sits in the
 * statement: on an object read from a table row (or on Query), on an object computed from a JSON
 * value, on a connection, an edge or PageInfo. `notCompiled` says the resolvers always answer it.
 * tests/unit/field-sql.test.ts fails for a field, reachable from a compiled root field, that
 * declares neither.
 */
export type FieldSql =
  | { readonly kind: 'row'; readonly compile: (cx: RowCx) => Emit }
  | { readonly kind: 'value'; readonly compile: (value: string) => string }
  | { readonly kind: 'connection'; readonly compile: (cx: PageCx) => ConnectionPart }
  | { readonly kind: 'edge'; readonly compile: (cx: PageCx) => PagePart }
  | { readonly kind: 'pageInfo'; readonly compile: (cx: PageCx) => PagePart }
  | { readonly kind: 'notCompiled'; readonly reason: string };

export type SqlKind = Exclude<FieldSql['kind'], 'notCompiled'>;
export type FieldSqlOf<K extends SqlKind> = Extract<FieldSql, { kind: K }>;

/** A field of an object read from one table row, or of Query. */
export interface RowCx {
  b: Builder;
  /** The row's SQL alias; '' on Query. */
  alias: string;
  /** The row's Prisma model; undefined on Query. */
  model: string | undefined;
  parent: GraphQLObjectType;
  def: GraphQLField<unknown, unknown>;
  nodes: readonly FieldNode[];
  /** Set by Case.extractedData: the object also carries its id under `$a` for the audit. */
  object: { audit: boolean };
}

/** A field of a connection, of its edges or of PageInfo, over the rows of one page aliased `row`. */
export interface PageCx {
  b: Builder;
  row: string;
  parent: GraphQLObjectType;
  def: GraphQLField<unknown, unknown>;
  nodes: readonly FieldNode[];
}

/** The rows of one page, as the connection's fields need them. */
export interface Rows {
  /**
   * FROM item of the page as `row`. Numbered: the page and one row more (whether there are more),
   * each with `__n`, 1 = nearest to the cursor. Otherwise just the page's rows, in fetch order
   * (a forward page whose connection reads neither pageInfo nor the order of `__n`).
   */
  from: (numbered: boolean) => string;
  /**
   * The page size (a validated integer, 0–100), written into the statement as a literal: with a
   * parameter PostgreSQL's generic plan of a prepared statement guesses a tenth of the table for
   * each LIMIT, and keeps planning every execution afresh.
   */
  size: number;
  backward: boolean;
  /** Root lists: whether a cursor was given (a constant of the statement). */
  cursorGiven: boolean;
  /** SQL: the connection's totalCount. */
  count: () => string;
  /** SQL (json): the cursor of the row `row`. */
  cursor: string;
}

/** SQL of an edge's or PageInfo's field over the page's rows. */
export type PagePart = (rows: Rows, g: Gen) => string;

/** SQL of a connection's field, and what it needs of the page's rows. */
export interface ConnectionPart {
  /** `numbered`: the rows are numbered (some field of the connection needs it). */
  emit: (rows: Rows, g: Gen, numbered: boolean) => string;
  /** It reads the page's rows (edges, pageInfo), not only the count. */
  readsRows: boolean;
  /** It needs the extra row and `__n` (pageInfo). */
  numbersRows: boolean;
}

export const notCompiled = (reason: string): FieldSql => ({ kind: 'notCompiled', reason });

/** A field whose SQL is its own (not one of the helpers'): `compile` gets the row it is read from. */
export const rowField = (compile: (cx: RowCx) => Emit): FieldSql => ({ kind: 'row', compile });

/** A field of an object computed from a JSON value: `compile` gets the value's SQL (jsonb). */
export const valueField = (compile: (value: string) => string): FieldSql => ({ kind: 'value', compile });

const KINDS: ReadonlySet<string> = new Set(['row', 'value', 'connection', 'edge', 'pageInfo', 'notCompiled']);

/** The SQL `def` declares, if any. */
export function declaredSql(def: GraphQLField<unknown, unknown>): FieldSql | undefined {
  const sql = def.extensions?.sql as FieldSql | undefined;
  return sql && typeof sql === 'object' && KINDS.has(sql.kind) ? sql : undefined;
}

/** One response key of a selection: `__typename`, or a field with its SQL. */
export interface Selected<K extends SqlKind> {
  /** The response key as SQL. */
  key: Emit;
  nodes: readonly FieldNode[];
  /** Undefined for `__typename`. */
  field?: { def: GraphQLField<unknown, unknown>; sql: FieldSqlOf<K> };
}

/**
 * The selection of `nodes` on `type`, every field with its declared SQL of `kind`. A field marked
 * not compiled, or declaring nothing, is Untranslatable; one declaring another kind is a bug.
 */
export function selection<K extends SqlKind>(
  b: Builder,
  type: GraphQLObjectType,
  nodes: readonly FieldNode[],
  kind: K,
): Selected<K>[] {
  const selected: Selected<K>[] = [];
  for (const [key, fieldNodes] of b.subfields(type, nodes)) {
    const name = (fieldNodes[0] as FieldNode).name.value;
    const entry: Selected<K> = { key: jsonKey(key, name), nodes: fieldNodes };
    if (name !== '__typename') {
      const def = type.getFields()[name];
      // Introspection's __schema and __type are no fields of the type.
      if (!def) throw new Untranslatable('not a field of the schema', `${type.name}.${name}`);
      entry.field = { def, sql: compiling(type, def, () => sqlOf(type, def, kind)) };
    }
    selected.push(entry);
  }
  return selected;
}

function sqlOf<K extends SqlKind>(
  type: GraphQLObjectType,
  def: GraphQLField<unknown, unknown>,
  kind: K,
): FieldSqlOf<K> {
  const sql = declaredSql(def);
  if (!sql) throw new Untranslatable('no SQL declared');
  if (sql.kind === 'notCompiled') throw new Untranslatable(`not compiled: ${sql.reason}`);
  if (sql.kind !== kind) {
    throw new Error(`${type.name}.${def.name} declares SQL of a ${sql.kind}, read as a field of a ${kind}`);
  }
  return sql as FieldSqlOf<K>;
}

/** Runs `compile` for `type.def`: an Untranslatable from inside names the innermost field it came from. */
export function compiling<T>(
  type: GraphQLObjectType,
  def: GraphQLField<unknown, unknown>,
  compile: () => T,
): T {
  try {
    return compile();
  } catch (error) {
    if (error instanceof Untranslatable) error.field ??= `${type.name}.${def.name}`;
    throw error;
  }
}
