/**
 * SQL building blocks of the compiled queries: values as the API serializes them (timestamps,
 * global ids), the sentinel that sends a request back to the resolvers, and the one exception
 * that means "the compiler does not cover this".
 */

/**
 * Stands in for a value the compiled SQL cannot render exactly as the resolvers would (a row that
 * breaks an invariant the resolvers would report as an error, a string the resolvers compare with
 * JavaScript's case rules). Its text form `"\u0000"` cannot come from data: PostgreSQL text and
 * jsonb cannot hold U+0000, and an escaped quote or backslash before it reads differently.
 */
export const SENTINEL = `'"\\u0000"'::json`;
export const SENTINEL_TEXT = '"\\u0000"';

/**
 * What the compiler does not cover (a shape, a filter it cannot translate, a field marked not
 * compiled): the resolvers answer the request instead. Its message names the limit, never a value
 * of the request; anything else thrown while compiling is a bug and reaches the client as one.
 */
export class Untranslatable extends Error {
  constructor(
    message: string,
    /** The field being compiled (`Type.field`), set where the compiler knows it. */
    public field?: string,
  ) {
    super(message);
  }
}

/** A SQL string literal of a constant of ours (never a client's value: those are parameters). */
export function lit(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A parenthesized list of literals, for `IN`: `('pending', 'in_progress')`. */
export function sqlList(values: readonly string[]): string {
  return `(${values.map(lit).join(', ')})`;
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
