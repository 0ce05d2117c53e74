import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLEnumType,
  type GraphQLField,
  GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields.js';
import { can } from '../auth/permissions.js';
import type { Context, Role } from '../context.js';
import { auditLogsWhere } from '../schema/audit-logs/queries.js';
import { CASE_ORDERS, type CaseOrder, caseWhere } from '../schema/cases/inputs.js';
import { decodeRowId } from '../schema/common/ids.js';
import {
  keysetPage,
  NEWEST_FIRST,
  type PageArgs,
  pageWindow,
  type SortKey,
} from '../schema/common/pagination.js';
import { eventsWhere } from '../schema/events/queries.js';
import { ingestionsWhere } from '../schema/ingestions/queries.js';
import { RULESET_ORDER, rulesetWhere } from '../schema/rulesets/inputs.js';
import { nestedTaskQuery, TASK_ORDERS, type TaskOrder, taskWhere } from '../schema/tasks/inputs.js';
import { usersWhere } from '../schema/users/queries.js';
import {
  globalIdExpr,
  lit,
  MODELS,
  orderBySql,
  SENTINEL,
  timestampJson,
  timestampText,
  Untranslatable,
  whereSql,
} from './sql.js';

/** What one request's arguments make of a site: `key` selects the cached SQL, `values` fill it. */
export interface Binding {
  key: string;
  values: unknown[];
  shape: Record<string, unknown>;
}

export interface BindEnv {
  ctx: Context;
  now: Date;
}

/** A field whose arguments are read per request (a list's page and filter, an id). */
interface Site {
  def: GraphQLField<unknown, unknown>;
  node: FieldNode;
  bind(args: Record<string, unknown>, env: BindEnv): Binding | null;
}

export type Getter = (bindings: readonly Binding[], env: BindEnv) => unknown;

/** Builds one SQL text: numbers the parameters as the emitters ask for them. */
export class Gen {
  readonly getters: Getter[] = [];
  private readonly named = new Map<string, string>();
  constructor(readonly bindings: readonly Binding[]) {}

  private param(name: string, getter: Getter, cast: string): string {
    let ref = this.named.get(name);
    if (!ref) {
      this.getters.push(getter);
      ref = `$${this.getters.length}`;
      this.named.set(name, ref);
    }
    return cast ? `${ref}::${cast}` : ref;
  }

  tenant(): string {
    return this.param('tenant', (_b, env) => env.ctx.viewer.tenantId, 'uuid');
  }

  viewer(): string {
    return this.param('viewer', (_b, env) => env.ctx.viewer.id, 'uuid');
  }

  now(): string {
    return this.param('now', (_b, env) => env.now.toISOString(), 'timestamptz');
  }

  /** An alias: a parameter, so that clients cannot make new statement texts by renaming keys. */
  key(key: string): string {
    return this.param(`key:${key}`, () => key, 'text');
  }

  shape(site: number): Record<string, unknown> {
    return (this.bindings[site] as Binding).shape;
  }

  /** A fragment of a site's binding with its `{j}` placeholders as parameters. */
  fill(site: number, fragment: string): string {
    return fragment.replace(/\{(\d+)\}/g, (_m, j: string) =>
      this.param(`${site}:${j}`, (bindings) => (bindings[site] as Binding).values[Number(j)], ''),
    );
  }
}

type Emit = (g: Gen) => string;

export interface Skeleton {
  sites: Site[];
  /** Case.extractedData is read by a CLINICIAN or ADMIN: the statement also returns the case ids. */
  audit: boolean;
  emit: Emit;
}

class Builder {
  readonly sites: Site[] = [];
  audit = false;
  private n = 0;
  constructor(
    readonly schema: GraphQLSchema,
    readonly fragments: Record<string, FragmentDefinitionNode>,
    readonly variables: Record<string, unknown>,
    readonly role: Role,
  ) {}

  alias(prefix: string): string {
    this.n += 1;
    return `${prefix}${this.n}`;
  }

  type(name: string): GraphQLObjectType {
    const type = this.schema.getType(name);
    if (!(type instanceof GraphQLObjectType)) throw new Error(`no object type ${name}`);
    return type;
  }

  subfields(type: GraphQLObjectType, nodes: readonly FieldNode[]): Map<string, readonly FieldNode[]> {
    return collectSubfields(this.schema, this.fragments, this.variables, type, nodes);
  }

  site(def: GraphQLField<unknown, unknown>, node: FieldNode, bind: Site['bind']): number {
    this.sites.push({ def, node, bind });
    return this.sites.length - 1;
  }
}

interface FieldCx {
  b: Builder;
  alias: string;
  nodes: readonly FieldNode[];
  def: GraphQLField<unknown, unknown>;
  /** Set by Case.extractedData: the object also carries its id under `$a` for the audit. */
  object: { audit: boolean };
}

type FieldCompiler = (cx: FieldCx) => Emit | null;

/** A response key: a field's own name is a literal, an alias (the client's free text) a parameter. */
const jsonKey =
  (key: string, name: string): Emit =>
  (g) =>
    key === name ? `${lit(key)}::text` : g.key(key);

/** json_build_object of the selected fields of `typeName` over the row `alias`; null: not covered. */
function objectEmit(b: Builder, typeName: string, alias: string, nodes: readonly FieldNode[]): Emit | null {
  const type = b.type(typeName);
  const compilers = FIELDS[typeName];
  if (!compilers) return null;
  const object = { audit: false };
  const parts: [Emit, Emit][] = [];
  for (const [key, fieldNodes] of b.subfields(type, nodes)) {
    const name = (fieldNodes[0] as FieldNode).name.value;
    if (name === '__typename') {
      parts.push([jsonKey(key, name), () => `${lit(typeName)}::text`]);
      continue;
    }
    const def = type.getFields()[name];
    const compiler = compilers[name];
    if (!def || !compiler) return null;
    const emit = compiler({ b, alias, nodes: fieldNodes, def, object });
    if (!emit) return null;
    parts.push([jsonKey(key, name), emit]);
  }
  // `"\u0000<id>"`: no string of the data can start with U+0000, whatever its key.
  if (object.audit) parts.push([jsonKey('$a', '$a'), () => `('"\\u0000' || ${alias}.id::text || '"')::json`]);
  // json_build_object takes at most 100 arguments.
  if (parts.length > 50) return null;
  return (g) => `json_build_object(${parts.map(([key, emit]) => `${key(g)}, ${emit(g)}`).join(', ')})`;
}

/** An object type computed from a JSON value of the row (Confidence, RulesetRules). */
function embeddedEmit(
  b: Builder,
  typeName: string,
  nodes: readonly FieldNode[],
  fields: Record<string, string>,
): Emit | null {
  const type = b.type(typeName);
  const parts: [Emit, string][] = [];
  for (const [key, fieldNodes] of b.subfields(type, nodes)) {
    const name = (fieldNodes[0] as FieldNode).name.value;
    const expr = name === '__typename' ? `${lit(typeName)}::text` : fields[name];
    if (!expr) return null;
    parts.push([jsonKey(key, name), expr]);
  }
  if (parts.length > 50) return null;
  return (g) => `json_build_object(${parts.map(([key, expr]) => `${key(g)}, ${expr}`).join(', ')})`;
}

// ---- scalar fields -----------------------------------------------------------------------------

const column =
  (col: string): FieldCompiler =>
  ({ alias }) =>
  () =>
    `${alias}.${col}`;

const timestamp =
  (col: string): FieldCompiler =>
  ({ alias }) =>
  () =>
    timestampJson(`${alias}.${col}`);

const nodeId =
  (typename: string): FieldCompiler =>
  ({ alias }) =>
  () =>
    globalIdExpr(typename, `${alias}.id`);

/** The stored vocabulary word as the GraphQL enum's name, from the schema's own value table. */
const enumOf =
  (col: string): FieldCompiler =>
  ({ alias, def }) => {
    const type = getNamedType(def.type) as GraphQLEnumType;
    const whens = type
      .getValues()
      .map((v) => `WHEN ${lit(String(v.value))} THEN ${lit(JSON.stringify(v.name))}::json`)
      .join(' ');
    return () => `CASE ${alias}.${col} ${whens} ELSE ${SENTINEL} END`;
  };

/** A jsonb column the API exposes as JSON: its text form parses to what Prisma returns. */
const jsonColumn =
  (col: string, nullable: boolean): FieldCompiler =>
  ({ alias }) =>
  () =>
    nullable
      ? `${alias}.${col}`
      : `CASE WHEN ${alias}.${col} IS NULL OR ${alias}.${col} = 'null'::jsonb THEN ${SENTINEL} ELSE ${alias}.${col}::json END`;

// ---- relations ---------------------------------------------------------------------------------

/** A to-one relation through (column, tenant_id) → (id, tenant_id). */
const toOne =
  (table: string, typeName: string, fk: string, nullable: boolean, tenantLink = true): FieldCompiler =>
  ({ b, alias, nodes }) => {
    const a = b.alias('o');
    const inner = objectEmit(b, typeName, a, nodes);
    if (!inner) return null;
    return (g) => {
      const tenant = tenantLink ? `${a}.tenant_id = ${alias}.tenant_id` : `${a}.tenant_id = ${g.tenant()}`;
      const sql = `(SELECT ${inner(g)} FROM ${table} ${a} WHERE ${a}.id = ${alias}.${fk} AND ${tenant})`;
      return nullable ? sql : `coalesce(${sql}, ${SENTINEL})`;
    };
  };

const caseCodes: FieldCompiler = ({ b, alias, nodes }) => {
  const a = b.alias('k');
  const inner = objectEmit(b, 'CaseCode', a, nodes);
  if (!inner) return null;
  // Case.codes: orderBy createdAt asc, id asc (src/schema/cases/types.ts).
  return (g) =>
    `(SELECT coalesce(json_agg(${inner(g)} ORDER BY ${a}.created_at, ${a}.id), '[]'::json) FROM case_codes ${a} WHERE ${a}.case_id = ${alias}.id AND ${a}.tenant_id = ${alias}.tenant_id)`;
};

/**
 * Case.matchingRulesets as its loader finds them: active, same payer, procedure equal to one of the
 * case's codes ignoring case, ordered by payer, procedure, id by code point. The loader folds case
 * with JavaScript's toUpperCase: where a code or a candidate procedure is not ASCII, upper() might
 * disagree, and the request falls back.
 */
const matchingRulesets: FieldCompiler = ({ b, alias, nodes }) => {
  const r = b.alias('m');
  const k = b.alias('k');
  const inner = objectEmit(b, 'Ruleset', r, nodes);
  if (!inner) return null;
  // One pass over the case's codes (their upper forms, whether any is not ASCII), one over the
  // candidates (the matching ones aggregated, whether any candidate is not ASCII).
  return (g) => {
    const candidates = `${r}.tenant_id = ${g.tenant()} AND ${r}.is_active AND ${r}.payer = ${alias}.payer`;
    const codes = `(SELECT array_agg(upper(${k}.code)) AS codes, bool_or(octet_length(${k}.code) <> length(${k}.code)) AS odd FROM case_codes ${k} WHERE ${k}.case_id = ${alias}.id AND ${k}.tenant_id = ${alias}.tenant_id) ${k}`;
    const list = `LATERAL (SELECT coalesce(json_agg(${inner(g)} ORDER BY ${r}.payer COLLATE "C", ${r}.procedure COLLATE "C", ${r}.id) FILTER (WHERE upper(${r}.procedure) = ANY(${k}.codes)), '[]'::json) AS list, bool_or(octet_length(${r}.procedure) <> length(${r}.procedure)) AS odd FROM rulesets ${r} WHERE ${candidates}) ${r}_l`;
    return `(SELECT CASE WHEN ${k}.odd OR ${r}_l.odd THEN ${SENTINEL} ELSE ${r}_l.list END FROM ${codes}, ${list})`;
  };
};

// ---- connections -------------------------------------------------------------------------------

/** The rows of one page, as the connection's fields need them. */
interface Rows {
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

/** A connection's selection (edges, pageInfo, totalCount) over page rows aliased `row`. */
function connectionEmit(
  b: Builder,
  connectionType: string,
  nodeType: string,
  row: string,
  nodes: readonly FieldNode[],
): ((g: Gen, rows: (g: Gen) => Rows) => string) | null {
  const type = b.type(connectionType);
  const parts: ((rows: Rows, g: Gen) => string)[] = [];
  let needsRows = false;
  /** pageInfo reads the extra row and the first/last of `__n`. */
  let numbered = false;
  for (const [key, fieldNodes] of b.subfields(type, nodes)) {
    const name = (fieldNodes[0] as FieldNode).name.value;
    const k = jsonKey(key, name);
    if (name === '__typename') {
      parts.push((_rows, g) => `${k(g)}, ${lit(connectionType)}::text`);
    } else if (name === 'totalCount') {
      parts.push((rows, g) => `${k(g)}, ${rows.count()}`);
    } else if (name === 'edges') {
      needsRows = true;
      const edgeType = getNamedType(type.getFields().edges?.type) as GraphQLObjectType;
      const edgeParts: ((rows: Rows, g: Gen) => string)[] = [];
      for (const [edgeKey, edgeNodes] of b.subfields(edgeType, fieldNodes)) {
        const edgeName = (edgeNodes[0] as FieldNode).name.value;
        const ek = jsonKey(edgeKey, edgeName);
        if (edgeName === '__typename') edgeParts.push((_rows, g) => `${ek(g)}, ${lit(edgeType.name)}::text`);
        else if (edgeName === 'cursor') edgeParts.push((rows, g) => `${ek(g)}, ${rows.cursor}`);
        else if (edgeName === 'node') {
          const node = objectEmit(b, nodeType, row, edgeNodes);
          if (!node) return null;
          edgeParts.push((_rows, g) => `${ek(g)}, ${node(g)}`);
        } else return null;
      }
      if (edgeParts.length > 50) return null;
      parts.push((rows, g) =>
        numbered || rows.backward
          ? `${k(g)}, coalesce(json_agg(json_build_object(${edgeParts.map((p) => p(rows, g)).join(', ')}) ORDER BY ${row}.__n${rows.backward ? ' DESC' : ''}) FILTER (WHERE ${row}.__n <= ${rows.size}), '[]'::json)`
          : // The page's rows come in their order (an ordered subquery under a plain aggregate).
            `${k(g)}, coalesce(json_agg(json_build_object(${edgeParts.map((p) => p(rows, g)).join(', ')})), '[]'::json)`,
      );
    } else if (name === 'pageInfo') {
      needsRows = true;
      numbered = true;
      const pageInfo = b.type('PageInfo');
      const infoParts: ((rows: Rows, g: Gen) => string)[] = [];
      for (const [infoKey, infoNodes] of b.subfields(pageInfo, fieldNodes)) {
        const infoName = (infoNodes[0] as FieldNode).name.value;
        const ik = jsonKey(infoKey, infoName);
        const more = (rows: Rows) => `count(*) > ${rows.size}`;
        const pick = (rows: Rows, desc: boolean) =>
          `(array_agg(${rows.cursor} ORDER BY ${row}.__n${desc ? ' DESC' : ''}) FILTER (WHERE ${row}.__n <= ${rows.size}))[1]`;
        switch (infoName) {
          case '__typename':
            infoParts.push((_rows, g) => `${ik(g)}, 'PageInfo'::text`);
            break;
          // keysetPage / wrapConnectionResult: across the cursor there is the cursor's own
          // position; beyond the page, the extra row says.
          case 'hasNextPage':
            infoParts.push((rows, g) => `${ik(g)}, ${rows.backward ? String(rows.cursorGiven) : more(rows)}`);
            break;
          case 'hasPreviousPage':
            infoParts.push((rows, g) => `${ik(g)}, ${rows.backward ? more(rows) : String(rows.cursorGiven)}`);
            break;
          case 'startCursor':
            infoParts.push((rows, g) => `${ik(g)}, ${pick(rows, rows.backward)}`);
            break;
          case 'endCursor':
            infoParts.push((rows, g) => `${ik(g)}, ${pick(rows, !rows.backward)}`);
            break;
          default:
            return null;
        }
      }
      parts.push((rows, g) => `${k(g)}, json_build_object(${infoParts.map((p) => p(rows, g)).join(', ')})`);
    } else {
      return null;
    }
  }
  return (g, rowsOf) => {
    const rows = rowsOf(g);
    const object = `json_build_object(${parts.map((p) => p(rows, g)).join(', ')})`;
    return needsRows ? `(SELECT ${object} FROM ${rows.from(numbered || rows.backward)})` : object;
  };
}

/**
 * `SELECT … LIMIT` in the fetch order: the FROM item of a page. Numbered: `take` rows (the page and
 * the one beyond it) with `__n`; otherwise the `size` rows of the page, in their order.
 */
function pageFrom(
  table: string,
  where: string,
  order: { x: string; q: string },
  page: { size: number; take: number },
  row: string,
  numbered: boolean,
) {
  for (const n of [page.size, page.take]) {
    if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Untranslatable('page size');
  }
  if (!numbered)
    return `(SELECT * FROM ${table} x WHERE ${where} ORDER BY ${order.x} LIMIT ${page.size}) ${row}`;
  return `(SELECT q.*, row_number() OVER (ORDER BY ${order.q}) AS __n FROM (SELECT * FROM ${table} x WHERE ${where} ORDER BY ${order.x} LIMIT ${page.take}) q) ${row}`;
}

/** JSON.stringify of a sort key's value as encodeCursor writes it (`{"d": iso}` for dates). */
function cursorValueText(model: string, key: SortKey, row: string): string {
  const column = MODELS[model]?.columns[key.field];
  if (!column) throw new Untranslatable(key.field);
  const expr = `${row}.${column.col}`;
  if (column.type === 'ts')
    return `CASE WHEN ${expr} IS NULL THEN 'null' ELSE '{"d":"' || ${timestampText(expr)} || '"}' END`;
  return `coalesce(to_json(${expr})::text, 'null')`;
}

/** The root lists' keyset cursor (pagination.ts encodeCursor), base64url. */
function keysetCursor(model: string, orderName: string, order: SortKey[], row: string): string {
  const json = [
    lit(`[${JSON.stringify(orderName)}`),
    ...order.map((key) => cursorValueText(model, key, row)),
  ].join(" || ',' || ");
  return `coalesce(to_json(translate(encode(convert_to(${json} || ']', 'UTF8'), 'base64'), E'+/=\\n', '-_')), ${SENTINEL})`;
}

/** Pothos' cursor of a related connection on `id`: base64 of `GPC:S:<id>`. */
const idCursor = (row: string) =>
  `to_json(encode(convert_to('GPC:S:' || ${row}.id::text, 'UTF8'), 'base64'))`;

interface RootListSpec {
  model: string;
  typeName: string;
  connection: string;
  /** The resolver's `where`, built by its own helpers; throws (a mistake in the arguments) → fallback. */
  where(args: Record<string, unknown>, env: BindEnv): unknown;
  order(args: Record<string, unknown>): { name: string; keys: SortKey[] };
  role?: (role: Role) => boolean;
}

const ROOT_LISTS: Record<string, RootListSpec> = {
  cases: {
    model: 'Case',
    typeName: 'Case',
    connection: 'CaseConnection',
    where: (args, { ctx }) => caseWhere(ctx, args.filter as never),
    order: (args) => {
      const name = (args.orderBy as CaseOrder | null | undefined) ?? 'CREATED_AT_DESC';
      return { name, keys: CASE_ORDERS[name] };
    },
  },
  tasks: {
    model: 'Task',
    typeName: 'Task',
    connection: 'TaskConnection',
    where: (args, { ctx, now }) => ({
      AND: [{ tenantId: ctx.viewer.tenantId }, {}, taskWhere(args.filter as never, now)],
    }),
    order: taskOrder,
  },
  myTasks: {
    model: 'Task',
    typeName: 'Task',
    connection: 'TaskConnection',
    where: (args, { ctx, now }) => ({
      AND: [
        { tenantId: ctx.viewer.tenantId },
        { assignedTo: ctx.viewer.id },
        taskWhere(args.filter as never, now),
      ],
    }),
    order: taskOrder,
  },
  users: {
    model: 'User',
    typeName: 'User',
    connection: 'UserConnection',
    where: (args, { ctx }) => usersWhere(ctx.viewer.tenantId, args),
    order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
  },
  ingestions: {
    model: 'Ingestion',
    typeName: 'Ingestion',
    connection: 'IngestionConnection',
    where: (args, { ctx }) => ingestionsWhere(ctx.viewer.tenantId, args),
    order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
  },
  rulesets: {
    model: 'Ruleset',
    typeName: 'Ruleset',
    connection: 'RulesetConnection',
    where: (args, { ctx }) => ({
      AND: [{ tenantId: ctx.viewer.tenantId }, rulesetWhere(args.filter as never)],
    }),
    order: () => ({ name: 'CREATED_AT_DESC', keys: RULESET_ORDER }),
  },
  events: {
    model: 'Event',
    typeName: 'Event',
    connection: 'EventConnection',
    where: (args, { ctx }) => eventsWhere(ctx.viewer.tenantId, args),
    order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
  },
  auditLogs: {
    model: 'AuditLog',
    typeName: 'AuditLog',
    connection: 'AuditLogConnection',
    role: (role) => can(role, 'auditLog:read'),
    where: (args, { ctx }) => auditLogsWhere(ctx.viewer.tenantId, args),
    order: () => ({ name: 'CREATED_AT_DESC', keys: NEWEST_FIRST }),
  },
};

function taskOrder(args: Record<string, unknown>) {
  const name = (args.orderBy as TaskOrder | null | undefined) ?? 'CREATED_AT_DESC';
  return { name, keys: TASK_ORDERS[name] };
}

/**
 * What keysetPage would ask Prisma for: its own checks (page arguments, cursor) and its own
 * `where`/`orderBy`/`take`, captured from the `fetch` it calls before its first await. Anything it
 * refuses, and a page of 0 (no fetch to capture), is left to the resolvers.
 */
function captureKeysetPage(args: PageArgs, orderName: string, order: SortKey[]) {
  const window = pageWindow(args);
  if (window.size === 0) return null;
  let captured:
    | { where: Record<string, unknown>; orderBy: Record<string, unknown>[]; take: number }
    | undefined;
  keysetPage({
    args,
    orderName,
    order,
    fetch: (page) => {
      captured = page;
      return Promise.resolve([]);
    },
    count: () => Promise.resolve(0),
  }).catch(() => undefined);
  return captured ? { ...captured, window } : null;
}

function rootList(spec: RootListSpec): FieldCompiler {
  return ({ b, nodes, def }) => {
    if (spec.role && !spec.role(b.role)) return null;
    const row = b.alias('r');
    const conn = connectionEmit(b, spec.connection, spec.typeName, row, nodes);
    if (!conn) return null;
    const { table } = MODELS[spec.model] as { table: string };
    const site = b.site(def, nodes[0] as FieldNode, (args, env) => {
      const where = spec.where(args, env);
      const order = spec.order(args);
      const page = captureKeysetPage(args as PageArgs, order.name, order.keys);
      if (!page) return null;
      const values: unknown[] = [];
      const shape = {
        where: whereSql(spec.model, where, 'x', values),
        keyset: whereSql(spec.model, page.where, 'x', values),
        orderX: orderBySql(spec.model, page.orderBy, 'x'),
        orderQ: orderBySql(spec.model, page.orderBy, 'q'),
        take: page.take,
        size: page.window.size,
        backward: page.window.backward,
        cursorGiven: page.window.cursor !== null,
        orderName: order.name,
      };
      return { key: JSON.stringify(shape), values, shape };
    });
    return (g) =>
      conn(g, () => {
        const s = g.shape(site) as {
          where: string;
          keyset: string;
          orderX: string;
          orderQ: string;
          take: number;
          size: number;
          backward: boolean;
          cursorGiven: boolean;
          orderName: string;
        };
        // Lazily: a parameter the statement does not reference has no type (a connection that
        // selects only __typename reads nothing).
        const where = () => g.fill(site, s.where);
        const order = spec.order({ orderBy: s.orderName });
        return {
          from: (numbered) =>
            pageFrom(
              table,
              `${where()} AND ${g.fill(site, s.keyset)}`,
              { x: s.orderX, q: s.orderQ },
              s,
              row,
              numbered,
            ),
          size: s.size,
          backward: s.backward,
          cursorGiven: s.cursorGiven,
          count: () => `(SELECT count(*) FROM ${table} x WHERE ${where()})`,
          cursor: keysetCursor(spec.model, order.name, order.keys, row),
        };
      });
  };
}

/** Prisma's order for a negative `take`: every key reversed, NULLS placement with it. */
function reversedOrderBy(orderBy: Record<string, unknown>[]): Record<string, unknown>[] {
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

/**
 * A related connection planned by Pothos (cursor: 'id'): `take` first+1 (or -(last+1)), the
 * field's own `query` (filter, order), its count with the same `where`. Pages after or before a
 * cursor are left to the resolvers.
 */
function relatedConnection(options: {
  model: string;
  typeName: string;
  connection: string;
  /** [child column, parent column] */
  link: [string, string][];
  query: (args: Record<string, unknown>) => { where?: unknown; orderBy: Record<string, unknown>[] };
}): FieldCompiler {
  return ({ b, alias, nodes, def }) => {
    const row = b.alias('r');
    const conn = connectionEmit(b, options.connection, options.typeName, row, nodes);
    if (!conn) return null;
    const { table } = MODELS[options.model] as { table: string };
    const site = b.site(def, nodes[0] as FieldNode, (args) => {
      if (args.after != null || args.before != null) return null;
      const query = options.query(args);
      const backward = args.last != null;
      const size = Math.min(((args.first ?? args.last) as number | null | undefined) ?? 20, 100);
      const values: unknown[] = [];
      const orderBy = backward ? reversedOrderBy(query.orderBy) : query.orderBy;
      const shape = {
        where: whereSql(options.model, query.where, 'x', values),
        orderX: orderBySql(options.model, orderBy, 'x'),
        orderQ: orderBySql(options.model, orderBy, 'q'),
        take: size + 1,
        size,
        backward,
      };
      return { key: JSON.stringify(shape), values, shape };
    });
    const link = options.link.map(([child, parent]) => `x.${child} = ${alias}.${parent}`).join(' AND ');
    return (g) =>
      conn(g, () => {
        const s = g.shape(site) as {
          where: string;
          orderX: string;
          orderQ: string;
          take: number;
          size: number;
          backward: boolean;
        };
        const where = () => `${link} AND ${g.fill(site, s.where)}`;
        return {
          from: (numbered) => pageFrom(table, where(), { x: s.orderX, q: s.orderQ }, s, row, numbered),
          size: s.size,
          backward: s.backward,
          cursorGiven: false,
          count: () => `(SELECT count(*) FROM ${table} x WHERE ${where()})`,
          cursor: idCursor(row),
        };
      });
  };
}

const taskConnection = (fk: string) =>
  relatedConnection({
    model: 'Task',
    typeName: 'Task',
    connection: 'TaskConnection',
    link: [
      [fk, 'id'],
      ['tenant_id', 'tenant_id'],
    ],
    query: (args) => nestedTaskQuery(args as never),
  });

/** One row by its global id (case, task, ruleset): a malformed id is left to the resolvers. */
function byId(table: string, typeName: string): FieldCompiler {
  return ({ b, nodes, def }) => {
    const row = b.alias('r');
    const inner = objectEmit(b, typeName, row, nodes);
    if (!inner) return null;
    const site = b.site(def, nodes[0] as FieldNode, (args) => {
      const id = typeof args.id === 'string' ? decodeRowId(args.id, typeName) : undefined;
      return id ? { key: '', values: [id], shape: {} } : null;
    });
    return (g) =>
      `(SELECT ${inner(g)} FROM ${table} ${row} WHERE ${row}.id = ${g.fill(site, '{0}')}::uuid AND ${row}.tenant_id = ${g.tenant()})`;
  };
}

// ---- Case.events (src/schema/events/queries.ts) --------------------------------------------------

const caseEvents: FieldCompiler = ({ b, alias, nodes, def }) => {
  const row = b.alias('r');
  const conn = connectionEmit(b, 'EventConnection', 'Event', row, nodes);
  if (!conn) return null;
  const site = b.site(def, nodes[0] as FieldNode, (args) => {
    if (args.after != null || args.before != null) return null;
    const { size, backward } = pageWindow(args as PageArgs);
    const shape = { backward, size, take: size === 0 ? 0 : size + 1 };
    return { key: JSON.stringify(shape), values: [], shape };
  });
  return (g) =>
    conn(g, () => {
      const page = g.shape(site) as { backward: boolean; size: number; take: number };
      const { backward } = page;
      const dir = backward ? 'ASC' : 'DESC';
      const where = () =>
        `x.tenant_id = ${g.tenant()} AND x.entity_type = 'case' AND x.entity_id = ${alias}.id`;
      const ts = `to_char(${row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
      const json = `'["CaseEvents","' || ${ts} || '","' || ${row}.id::text || '"]'`;
      return {
        from: (numbered) =>
          pageFrom(
            'events',
            where(),
            { x: `x.created_at ${dir}, x.id ${dir}`, q: `q.created_at ${dir}, q.id ${dir}` },
            page,
            row,
            numbered,
          ),
        size: page.size,
        backward,
        cursorGiven: false,
        count: () => `(SELECT count(*) FROM events x WHERE ${where()})`,
        cursor: `to_json(translate(encode(convert_to(${json}, 'UTF8'), 'base64'), E'+/=\\n', '-_'))`,
      };
    });
};

// ---- the covered fields ------------------------------------------------------------------------

const OPEN = `('pending', 'in_progress')`;

const FIELDS: Record<string, Record<string, FieldCompiler>> = {
  Case: {
    id: nodeId('Case'),
    uuid: column('id'),
    memberIdHash: column('member_id_hash'),
    payer: column('payer'),
    status: enumOf('status'),
    priority: enumOf('priority'),
    // NULL → []; a NULL element or a nested array would be a resolver error: fall back.
    diagnosisCodes:
      ({ alias }) =>
      () =>
        `CASE WHEN ${alias}.diagnosis_codes IS NULL THEN '[]'::json WHEN array_position(${alias}.diagnosis_codes, NULL) IS NOT NULL OR array_ndims(${alias}.diagnosis_codes) > 1 THEN ${SENTINEL} ELSE to_json(${alias}.diagnosis_codes) END`,
    // toConfidence: overall when a number (else 0), fields unless null/undefined (else {}).
    confidence: ({ b, alias, nodes }) => {
      const v = `${alias}.confidence_json`;
      return embeddedEmit(b, 'Confidence', nodes, {
        overall: `CASE WHEN jsonb_typeof(${v}->'overall') = 'number' THEN CASE WHEN abs((${v}->>'overall')::numeric) < 1e308 THEN (${v}->'overall')::json ELSE ${SENTINEL} END ELSE '0'::json END`,
        fields: `coalesce(nullif(${v}->'fields', 'null'::jsonb), '{}'::jsonb)`,
      });
    },
    extractedData: ({ b, alias, object }) => {
      // Plainly null for those who may not read it; read and audited (one `view` row) otherwise.
      if (!can(b.role, 'case:readExtractedData')) return () => 'NULL::json';
      object.audit = true;
      b.audit = true;
      return () => `${alias}.extracted_data`;
    },
    metadata: jsonColumn('metadata_json', true),
    createdAt: timestamp('created_at'),
    updatedAt: timestamp('updated_at'),
    createdBy: toOne('users', 'User', 'created_by', false),
    ingestion: toOne('ingestions', 'Ingestion', 'ingestion_id', true),
    codes: caseCodes,
    tasks: taskConnection('case_id'),
    matchingRulesets,
    events: caseEvents,
  },
  CaseCode: {
    id: nodeId('CaseCode'),
    uuid: column('id'),
    codeType: enumOf('code_type'),
    code: column('code'),
    description: column('description'),
    confidence: column('confidence'),
    createdAt: timestamp('created_at'),
  },
  Task: {
    id: nodeId('Task'),
    uuid: column('id'),
    case: toOne('cases', 'Case', 'case_id', false),
    assignee: toOne('users', 'User', 'assigned_to', true),
    title: column('title'),
    description: column('description'),
    status: enumOf('status'),
    priority: enumOf('priority'),
    dueDate: timestamp('due_date'),
    completedAt: timestamp('completed_at'),
    isOverdue:
      ({ alias }) =>
      (g) =>
        `(${alias}.due_date IS NOT NULL AND ${alias}.due_date < ${g.now()} AND ${alias}.status IN ${OPEN})`,
    createdAt: timestamp('created_at'),
    updatedAt: timestamp('updated_at'),
  },
  User: {
    id: nodeId('User'),
    uuid: column('id'),
    email: column('email'),
    name: column('name'),
    role: enumOf('role'),
    createdAt: timestamp('created_at'),
    updatedAt: timestamp('updated_at'),
    assignedTasks: taskConnection('assigned_to'),
  },
  Ingestion: {
    id: nodeId('Ingestion'),
    uuid: column('id'),
    sourceType: enumOf('source_type'),
    sourceMetadata: jsonColumn('source_metadata', false),
    storagePath: column('storage_path'),
    status: enumOf('status'),
    errorMessage: column('error_message'),
    createdAt: timestamp('created_at'),
    updatedAt: timestamp('updated_at'),
    cases: relatedConnection({
      model: 'Case',
      typeName: 'Case',
      connection: 'CaseConnection',
      link: [
        ['ingestion_id', 'id'],
        ['tenant_id', 'tenant_id'],
      ],
      query: (args) => {
        pageWindow(args);
        return { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] };
      },
    }),
  },
  Ruleset: {
    id: nodeId('Ruleset'),
    uuid: column('id'),
    payer: column('payer'),
    procedure: column('procedure'),
    // fromRulesJson: lists keep their strings, turnaround a string or '', notes a string or null.
    // `->` of a value that is not an object is NULL, as a key of `{}` would be. The string
    // elements of an array, in order (strict: of anything else, silently none).
    rules: ({ b, alias, nodes }) => {
      const v = (key: string) => `${alias}.rules_json->'${key}'`;
      const strings = (key: string) =>
        `coalesce(jsonb_path_query_array(${v(key)}, 'strict $[*] ? (@.type() == "string")', '{}', true), '[]'::jsonb)`;
      const alternative = `CASE WHEN jsonb_typeof(${v('typicalTurnaround')}) = 'string' THEN ${v('typicalTurnaround')} ELSE '""'::jsonb END`;
      return embeddedEmit(b, 'RulesetRules', nodes, {
        requirements: strings('requirements'),
        documentation: strings('documentation'),
        typicalTurnaround: `CASE coalesce(jsonb_typeof(${v('typical_turnaround')}), 'null') WHEN 'string' THEN ${v('typical_turnaround')} WHEN 'null' THEN ${alternative} ELSE '""'::jsonb END`,
        notes: `CASE WHEN jsonb_typeof(${v('notes')}) = 'string' THEN ${v('notes')} ELSE 'null'::jsonb END`,
      });
    },
    isActive: column('is_active'),
    createdAt: timestamp('created_at'),
    updatedAt: timestamp('updated_at'),
  },
  Tenant: {
    id: nodeId('Tenant'),
    uuid: column('id'),
    slug: column('slug'),
    name: column('name'),
    createdAt: timestamp('created_at'),
    updatedAt: timestamp('updated_at'),
  },
  Event: {
    id: nodeId('Event'),
    uuid: column('id'),
    eventType: column('event_type'),
    entityType: column('entity_type'),
    entityId: column('entity_id'),
    metadata: jsonColumn('metadata', true),
    user: toOne('users', 'User', 'user_id', true, false),
    createdAt: timestamp('created_at'),
  },
  AuditLog: {
    id: nodeId('AuditLog'),
    uuid: column('id'),
    action: enumOf('action'),
    entityType: column('entity_type'),
    entityId: column('entity_id'),
    changes: jsonColumn('changes', true),
    user: toOne('users', 'User', 'user_id', true, false),
    ipAddress: column('ip_address'),
    userAgent: column('user_agent'),
    createdAt: timestamp('created_at'),
  },
};

const ROOTS: Record<string, FieldCompiler> = {
  ...Object.fromEntries(Object.entries(ROOT_LISTS).map(([name, spec]) => [name, rootList(spec)])),
  case: byId('cases', 'Case'),
  task: byId('tasks', 'Task'),
  ruleset: byId('rulesets', 'Ruleset'),
  me: ({ b, nodes }) => {
    const row = b.alias('r');
    const inner = objectEmit(b, 'User', row, nodes);
    if (!inner) return null;
    return (g) =>
      `coalesce((SELECT ${inner(g)} FROM users ${row} WHERE ${row}.id = ${g.viewer()} AND ${row}.tenant_id = ${g.tenant()}), ${SENTINEL})`;
  },
  tenant: ({ b, nodes }) => {
    const row = b.alias('r');
    const inner = objectEmit(b, 'Tenant', row, nodes);
    if (!inner) return null;
    return (g) =>
      `coalesce((SELECT ${inner(g)} FROM tenants ${row} WHERE ${row}.id = ${g.tenant()}), ${SENTINEL})`;
  },
};

/**
 * The skeleton of a query operation for one role and one set of @skip/@include values: every
 * selected field checked against what the compiler covers (null: not covered), the fields whose
 * arguments are read per request, and the emitter of the statement.
 */
export function buildSkeleton(
  schema: GraphQLSchema,
  fragments: Record<string, FragmentDefinitionNode>,
  selectionSet: Parameters<typeof collectFields>[4],
  variables: Record<string, unknown>,
  role: Role,
): Skeleton | null {
  const queryType = schema.getQueryType();
  if (!queryType) return null;
  const b = new Builder(schema, fragments, variables, role);
  const parts: [Emit, Emit][] = [];
  for (const [key, nodes] of collectFields(schema, fragments, variables, queryType, selectionSet)) {
    const name = (nodes[0] as FieldNode).name.value;
    if (name === '__typename') {
      parts.push([jsonKey(key, name), () => `'Query'::text`]);
      continue;
    }
    const def = queryType.getFields()[name];
    const compiler = ROOTS[name];
    if (!def || !compiler) return null;
    const emit = compiler({ b, alias: '', nodes, def, object: { audit: false } });
    if (!emit) return null;
    parts.push([jsonKey(key, name), emit]);
  }
  if (parts.length === 0 || parts.length > 50) return null;
  return {
    sites: b.sites,
    audit: b.audit,
    emit: (g) =>
      `SELECT json_build_object(${parts.map(([key, emit]) => `${key(g)}, ${emit(g)}`).join(', ')})::text AS data`,
  };
}
