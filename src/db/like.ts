/**
 * A value for Prisma's `mode: 'insensitive'` filters (`equals`, `contains`), which PostgreSQL runs
 * as `ILIKE` without escaping the pattern: `_` and `%` would match any character. Escaped, the
 * match is literal.
 */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, '\\$&');
}
