import { compiling, type FieldSql, type PagePart, type Rows, selection } from './field-sql.js';
import { type Emit, type Gen, MAX_KEYS, objectTypeOf } from './gen.js';
import { objectEmit } from './objects.js';
import { lit, Untranslatable } from './sql.js';

/**
 * The SQL of the fields the relay plugin makes for every connection: `edges`, `pageInfo` (with the
 * plugin-wide `totalCount` of src/schema/common/pagination.ts) on a connection, `node` and
 * `cursor` on an edge, PageInfo's four. src/builder.ts declares them through the relay plugin's
 * field options; they read the page rows a connection field fetches (src/compiled/connections.ts)
 * as https://relay.dev/graphql/connections.htm describes them.
 */

const typenameOf = (name: string): PagePart => {
  const sql = `${lit(name)}::text`;
  return () => sql;
};

/** Each edge of the page in order: nearest the cursor first, reversed back for `last`. */
export const edgesSql: FieldSql = {
  kind: 'connection',
  compile: ({ b, row, def, nodes }) => {
    const edgeType = objectTypeOf(def);
    const parts: [Emit, PagePart][] = selection(b, edgeType, nodes, 'edge').map(({ key, nodes, field }) => [
      key,
      field
        ? compiling(edgeType, field.def, () =>
            field.sql.compile({ b, row, parent: edgeType, def: field.def, nodes }),
          )
        : typenameOf(edgeType.name),
    ]);
    if (parts.length > MAX_KEYS)
      throw new Untranslatable(`more than ${MAX_KEYS} keys in one ${edgeType.name}`);
    const edge = (rows: Rows, g: Gen) =>
      `json_build_object(${parts.map(([key, part]) => `${key(g)}, ${part(rows, g)}`).join(', ')})`;
    return {
      readsRows: true,
      numbersRows: false,
      emit: (rows, g, numbered) =>
        numbered || rows.backward
          ? `coalesce(json_agg(${edge(rows, g)} ORDER BY ${row}.__n${rows.backward ? ' DESC' : ''}) FILTER (WHERE ${row}.__n <= ${rows.size}), '[]'::json)`
          : // The page's rows come in their order (an ordered subquery under a plain aggregate).
            `coalesce(json_agg(${edge(rows, g)}), '[]'::json)`,
    };
  },
};

export const pageInfoSql: FieldSql = {
  kind: 'connection',
  compile: ({ b, row, def, nodes }) => {
    const type = objectTypeOf(def);
    const parts: [Emit, PagePart][] = selection(b, type, nodes, 'pageInfo').map(({ key, nodes, field }) => [
      key,
      field
        ? compiling(type, field.def, () => field.sql.compile({ b, row, parent: type, def: field.def, nodes }))
        : typenameOf(type.name),
    ]);
    return {
      readsRows: true,
      numbersRows: true,
      emit: (rows, g) =>
        `json_build_object(${parts.map(([key, part]) => `${key(g)}, ${part(rows, g)}`).join(', ')})`,
    };
  },
};

export const totalCountSql: FieldSql = {
  kind: 'connection',
  compile: () => ({ readsRows: false, numbersRows: false, emit: (rows) => rows.count() }),
};

export const edgeNodeSql: FieldSql = {
  kind: 'edge',
  compile: ({ b, row, def, nodes }) => {
    const node = objectEmit(b, objectTypeOf(def), row, nodes);
    return (_rows, g) => node(g);
  },
};

export const edgeCursorSql: FieldSql = { kind: 'edge', compile: () => (rows) => rows.cursor };

// keysetPage / wrapConnectionResult: across the cursor there is the cursor's own position; beyond
// the page, the extra row says.
const more = (rows: Rows) => `count(*) > ${rows.size}`;

/** The cursor of the page's first row (`__n` ascending) or last. */
const pick = (row: string, rows: Rows, desc: boolean) =>
  `(array_agg(${rows.cursor} ORDER BY ${row}.__n${desc ? ' DESC' : ''}) FILTER (WHERE ${row}.__n <= ${rows.size}))[1]`;

export const hasNextPageSql: FieldSql = {
  kind: 'pageInfo',
  compile: () => (rows) => (rows.backward ? String(rows.cursorGiven) : more(rows)),
};

export const hasPreviousPageSql: FieldSql = {
  kind: 'pageInfo',
  compile: () => (rows) => (rows.backward ? more(rows) : String(rows.cursorGiven)),
};

export const startCursorSql: FieldSql = {
  kind: 'pageInfo',
  compile:
    ({ row }) =>
    (rows) =>
      pick(row, rows, rows.backward),
};

export const endCursorSql: FieldSql = {
  kind: 'pageInfo',
  compile:
    ({ row }) =>
    (rows) =>
      pick(row, rows, !rows.backward),
};
