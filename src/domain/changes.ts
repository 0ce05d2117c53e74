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

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

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
