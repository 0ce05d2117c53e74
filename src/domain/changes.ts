/**
 * `audit_logs.changes`: `{ before, after }` of the fields that changed, keyed by the API's field
 * names, with enum names, UUID references and ISO timestamps. `before` is null on create, `after`
 * null on delete; `updatedAt` is never listed.
 */
export type Snapshot = Record<string, unknown>;

export interface Changes {
  before: Snapshot | null;
  after: Snapshot | null;
}

/**
 * Equal as the database compares JSON (jsonb): objects whatever the order of their keys. A value
 * of a write's input keeps the client's order; the same value read back has jsonb's.
 */
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item) && !(item instanceof Date)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

export function diff(before: Snapshot | null, after: Snapshot | null): Changes {
  if (!before || !after) return { before, after };
  const changed = Object.keys({ ...before, ...after }).filter((key) => !same(before[key], after[key]));
  return {
    before: Object.fromEntries(changed.map((key) => [key, before[key] ?? null])),
    after: Object.fromEntries(changed.map((key) => [key, after[key] ?? null])),
  };
}

export function isEmpty(changes: Changes): boolean {
  return changes.before !== null && changes.after !== null && Object.keys(changes.after).length === 0;
}
