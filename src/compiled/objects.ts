import type { FieldNode, GraphQLObjectType } from 'graphql';
import { compiling, type RowCx, selection } from './field-sql.js';
import { type Builder, type Emit, jsonKey, MAX_KEYS } from './gen.js';
import { lit, Untranslatable } from './sql.js';

/**
 * Object emission: an object of the response as one `json_build_object` of its selected fields,
 * each field's SQL taken from its declaration.
 */

/**
 * The Prisma model an object type is read from: plugin-prisma records it in the extensions of
 * every type it builds from a model (`prismaObject`, `prismaNode`).
 */
export function rowModelOf(type: GraphQLObjectType): string {
  const model = type.extensions?.pothosPrismaModel;
  if (typeof model !== 'string') throw new Untranslatable(`${type.name} is not read from a table`);
  return model;
}

/** The selected fields of `type` over the row `alias` (none for Query), as [key, value] emitters. */
export function rowFieldsEmit(
  b: Builder,
  type: GraphQLObjectType,
  alias: string,
  model: string | undefined,
  nodes: readonly FieldNode[],
): [Emit, Emit][] {
  const object = { audit: false };
  const parts: [Emit, Emit][] = [];
  for (const { key, nodes: fieldNodes, field } of selection(b, type, nodes, 'row')) {
    if (!field) {
      parts.push([key, () => `${lit(type.name)}::text`]);
      continue;
    }
    const cx: RowCx = { b, alias, model, parent: type, def: field.def, nodes: fieldNodes, object };
    parts.push([key, compiling(type, field.def, () => field.sql.compile(cx))]);
  }
  // `"\u0000<id>"`: no string of the data can start with U+0000, whatever its key.
  if (object.audit) parts.push([jsonKey('$a', '$a'), () => `('"\\u0000' || ${alias}.id::text || '"')::json`]);
  if (parts.length > MAX_KEYS) throw new Untranslatable(`more than ${MAX_KEYS} keys in one ${type.name}`);
  return parts;
}

/** json_build_object of the selected fields of `type` over the row `alias`. */
export function objectEmit(
  b: Builder,
  type: GraphQLObjectType,
  alias: string,
  nodes: readonly FieldNode[],
): Emit {
  const parts = rowFieldsEmit(b, type, alias, rowModelOf(type), nodes);
  return (g) => `json_build_object(${parts.map(([key, emit]) => `${key(g)}, ${emit(g)}`).join(', ')})`;
}

/** An object type computed from a JSON value of the row (Confidence, RulesetRules). */
export function valueObjectEmit(
  b: Builder,
  type: GraphQLObjectType,
  value: string,
  nodes: readonly FieldNode[],
): Emit {
  const parts: [Emit, string][] = [];
  for (const { key, field } of selection(b, type, nodes, 'value')) {
    const expr = field
      ? compiling(type, field.def, () => field.sql.compile(value))
      : `${lit(type.name)}::text`;
    parts.push([key, expr]);
  }
  if (parts.length > MAX_KEYS) throw new Untranslatable(`more than ${MAX_KEYS} keys in one ${type.name}`);
  return (g) => `json_build_object(${parts.map(([key, expr]) => `${key(g)}, ${expr}`).join(', ')})`;
}
