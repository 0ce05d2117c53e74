// The hostile values of tests/hostile/requests.ts, by kind of input. Each is a [label, value] pair;
// the label names the request in a failure.

export type Labelled = [label: string, value: unknown];

/** A UUID no seeded row has: an ID around it is well-formed and names nothing. */
export const NO_ROW = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

export const base64 = (text: string) => Buffer.from(text).toString('base64');
export const globalId = (type: string, key = NO_ROW) => base64(`${type}:${key}`);
/** A root list's keyset cursor (src/schema/common/pagination.ts) holding any values. */
export const keysetCursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

/**
 * JSON nested `depth` levels. JSON.stringify would overflow the stack on the deepest, so the
 * body writer (`requestBody`) puts the text in place of this marker.
 */
export function deepJson(depth: number): { deepJson: number } {
  return { deepJson: depth };
}

/** An enum value of a mutation's input: a string in variables, bare in a literal. */
export function enumValue(name: string): { enumValue: string } {
  return { enumValue: name };
}

/** The request body: JSON, `enumValue`s as their strings, every `deepJson(n)` as n nested arrays. */
export function requestBody(body: unknown): string {
  const depths: number[] = [];
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (value && typeof value === 'object' && 'enumValue' in value)
      return (value as { enumValue: string }).enumValue;
    if (value && typeof value === 'object' && 'deepJson' in value) {
      depths.push((value as { deepJson: number }).deepJson);
      return `\u0001deep:${depths.length - 1}\u0001`;
    }
    return value;
  });
  return text.replace(/"\\u0001deep:(\d+)\\u0001"/g, (_match, i: string) => {
    const depth = depths[Number(i)] as number;
    return '['.repeat(depth) + ']'.repeat(depth);
  });
}

/** Values that are not an ID of `type` (for `node`, `type` is any Node type and `sameType` false). */
export function malformedIds(type: string, anotherType: string | null): Labelled[] {
  return [
    ['garbage', 'not base64 at all!'],
    ['a key that is not a UUID', globalId(type, 'not-a-uuid')],
    ['a NUL after the UUID', globalId(type, `${NO_ROW}\u0000`)],
    ['an unknown type', globalId('Nope', NO_ROW)],
    ['SQL in the key', globalId(type, "' OR 1=1 --")],
    ['empty', ''],
    ['a bare UUID', NO_ROW],
    ['100,000 characters', 'QUFB'.repeat(25_000)],
    ...(anotherType ? ([['an ID of another type', globalId(anotherType)]] as Labelled[]) : []),
  ];
}

export const MALFORMED_UUIDS: Labelled[] = [
  ['not a UUID', 'not-a-uuid'],
  ['a NUL after the UUID', `${NO_ROW}\u0000`],
  ['not hexadecimal', '00000000-0000-0000-0000-00000000000g'],
  ['empty', ''],
];

/** DateTimes PostgreSQL cannot store, or that name no calendar date. */
export const BAD_DATE_TIMES: Labelled[] = [
  ['year 0', '0000-01-01T00:00:00Z'],
  ['year 0 in UTC, by its offset', '0001-01-01T00:30:00+01:00'],
  ['year 10000 in UTC, by its offset', '9999-12-31T23:30:00-01:00'],
  ['February 30', '2021-02-30T00:00:00Z'],
  ['hour 24', '2021-01-01T24:00:00Z'],
  ['an expanded year', '+275760-09-13T00:00:00Z'],
  ['a NUL at the end', '2021-01-01T00:00:00Z\u0000'],
];

/** Values of a string filter whose limit is `max` characters. */
export function badFilterStrings(max: number): Labelled[] {
  return [
    ['a NUL', 'Aet\u0000na'],
    [`${max + 1} characters, one past the limit`, 'x'.repeat(max + 1)],
    ['900 KB', 'x'.repeat(900_000)],
  ];
}

export const NUL_TEXT: Labelled = ['a NUL', 'Call the\u0000 payer'];

/** Values of a JSON input: too deep for the scalar (400), or holding U+0000 (ValidationError). */
export const DEEP_JSON: Labelled[] = [
  ['65 levels', deepJson(65)],
  ['100,000 levels', deepJson(100_000)],
];
export const NUL_JSON: Labelled[] = [
  ['a NUL in a string', { note: 'text\u0000' }],
  ['a NUL in a key', { 'no\u0000te': 1 }],
];

const DATE = { d: '2026-01-01T00:00:00.000Z' };

/** Cursors of a root list (ordered CREATED_AT_DESC by default) that no page of it gave out. */
export const FORGED_KEYSET_CURSORS: Labelled[] = [
  ['garbage', 'zzz'],
  ['cut-off JSON', keysetCursor(['CREATED_AT_DESC']).slice(0, -3)],
  ['a date that is not one', keysetCursor(['CREATED_AT_DESC', { d: 'yesterday' }, NO_ROW])],
  ['year 0', keysetCursor(['CREATED_AT_DESC', { d: '0000-01-01T00:00:00.000Z' }, NO_ROW])],
  ['an id that is not a UUID', keysetCursor(['CREATED_AT_DESC', DATE, 'not-a-uuid'])],
  ['numbers for a date and an id', keysetCursor(['CREATED_AT_DESC', 5, 6])],
  ['nulls', keysetCursor(['CREATED_AT_DESC', null, null])],
  ['a NUL in the id', keysetCursor(['CREATED_AT_DESC', DATE, `${NO_ROW}\u0000`])],
  ['a rank past SMALLINT, of another order', keysetCursor(['PRIORITY_DESC', 99_999_999, NO_ROW])],
];

/** Cursors of a related connection (Pothos' `GPC:S:<id>`) that no page gave out. */
export const FORGED_RELATED_CURSORS: Labelled[] = [
  ['garbage', 'zzz'],
  ['not base64', '!!!'],
  ['an id that is not a UUID', base64('GPC:S:not-a-uuid')],
  ['a number', base64('GPC:N:5')],
  ['JSON', base64('GPC:J:{"id":1}')],
  ['a NUL after the UUID', base64(`GPC:S:${NO_ROW}\u0000`)],
  ['a root list cursor', keysetCursor(['CREATED_AT_DESC', DATE, NO_ROW])],
];

/** Cursors of Case.events (`["CaseEvents", microsecond timestamp, id]`) that no page gave out. */
export const FORGED_CASE_EVENT_CURSORS: Labelled[] = [
  ['garbage', 'zzz'],
  ['year 0', keysetCursor(['CaseEvents', '0000-01-01T00:00:00.000000Z', NO_ROW])],
  ['February 30', keysetCursor(['CaseEvents', '2021-02-30T00:00:00.000000Z', NO_ROW])],
  ['an id that is not a UUID', keysetCursor(['CaseEvents', '2026-01-01T00:00:00.000000Z', 'x'])],
  ['a root list cursor', keysetCursor(['CREATED_AT_DESC', DATE, NO_ROW])],
];
