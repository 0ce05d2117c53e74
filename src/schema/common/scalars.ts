import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { builder } from '../../builder.js';
import { UUID } from '../../domain/ids.js';
import { jsonTooDeep, MAX_JSON_DEPTH, parseTimestamp } from './input-limits.js';

/** Every DateTime input goes through here: a calendar date within 0001..9999, which PostgreSQL can store. */
function parseDateTime(value: unknown): Date {
  const parsed = parseTimestamp(typeof value === 'string' ? value : '');
  if ('error' in parsed) throw new GraphQLError(parsed.error);
  return parsed.date;
}

function parseUuid(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value))
    throw new GraphQLError('UUID must be a canonical UUID string');
  return value.toLowerCase();
}

builder.scalarType('DateTime', {
  description:
    'ISO-8601 timestamp with offset, always output in UTC with milliseconds: 2026-01-31T09:00:00.000Z',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.scalarType('UUID', {
  description: 'Canonical lower-case UUID string',
  serialize: (value) => String(value),
  parseValue: parseUuid,
  parseLiteral: (ast) => parseUuid(ast.kind === Kind.STRING ? ast.value : undefined),
});

function literalToJson(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw new GraphQLError('JSON literal is not a JSON value');
  }
}

/** Deeper values are refused here, before anything walks them recursively (zod, JSON.stringify, Prisma). */
function shallowJson(value: unknown): unknown {
  if (jsonTooDeep(value)) throw new GraphQLError(`JSON must not nest deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: shallowJson,
  // A literal's depth is bounded by MAX_TOKENS, so converting it recursively first is safe.
  parseLiteral: (ast, variables) => shallowJson(literalToJson(ast, variables)),
});
