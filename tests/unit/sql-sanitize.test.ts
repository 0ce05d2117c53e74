import { expect, test } from 'vitest';
import { sanitizeSql } from '../../src/tracing/statements.js';

// What a statement span says of its SQL (src/tracing/statements.ts): every literal replaced by
// `?`, comments gone; identifiers, keywords and parameters kept.

test.each([
  [
    "BEGIN; SET LOCAL statement_timeout = 5000; SELECT * FROM begin_request('84bf320c-669f-8c93-afa0-f8354e780b83'::uuid, 'auth|user-1', 5000)",
    'BEGIN; SET LOCAL statement_timeout = ?; SELECT * FROM begin_request(?::uuid, ?, ?)',
  ],
  [
    'SELECT "t0"."id", "t0"."member_id_hash" FROM "public"."cases" AS "t0" WHERE "t0"."id" = $1 LIMIT $2',
    'SELECT "t0"."id", "t0"."member_id_hash" FROM "public"."cases" AS "t0" WHERE "t0"."id" = $1 LIMIT $2',
  ],
  // A quote doubled inside a string, and a quote inside a quoted identifier.
  ['SELECT \'it\'\'s M-123\' AS "a""b" FROM x', 'SELECT ? AS "a""b" FROM x'],
  // An escape string's backslash-escaped quote does not end it.
  ["SELECT E'M-1\\'23' || 'b'", 'SELECT ? || ?'],
  // Dollar-quoted strings, tagged or not.
  ['SELECT $$M-123$$, $tag$a $$ b$tag$', 'SELECT ?, ?'],
  // Numbers, but not the digits of a name or of a parameter.
  ['SELECT request_sp_1, $12, 3.5e2, .5 FROM t1 LIMIT 20', 'SELECT request_sp_1, $12, ?, ? FROM t1 LIMIT ?'],
  ['SAVEPOINT request_sp_0', 'SAVEPOINT request_sp_0'],
  ["SELECT 1 -- member 'M-123'\n/* M-456 */ FROM t", 'SELECT ? \n FROM t'],
])('%s', (sql, sanitized) => {
  expect(sanitizeSql(sql)).toBe(sanitized);
});
