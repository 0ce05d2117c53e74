/**
 * The change feed's cursor as clients see it: opaque text around the events row's per-tenant
 * number (migration 20261205000000). Opaque so that clients store it, not compute with it.
 */
const PREFIX = 'change:';
/** Numbers up to 2^53: a tenant writing 1,000 changes a second reaches it in 285,000 years. */
const DIGITS = /^(0|[1-9]\d{0,15})$/;

export function encodeCursor(cursor: number): string {
  return Buffer.from(`${PREFIX}${cursor}`).toString('base64url');
}

/** The number in `text`, or undefined when `text` is not a cursor this server gave out. */
export function decodeCursor(text: string): number | undefined {
  if (text.length > 64) return undefined;
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  if (!decoded.startsWith(PREFIX)) return undefined;
  const digits = decoded.slice(PREFIX.length);
  if (!DIGITS.test(digits)) return undefined;
  const cursor = Number(digits);
  // base64url decoding ignores what is not base64: only the canonical text is the cursor.
  return Number.isSafeInteger(cursor) && encodeCursor(cursor) === text ? cursor : undefined;
}
