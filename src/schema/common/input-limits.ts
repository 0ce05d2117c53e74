import { badUserInput } from '../../errors.js';

// The limits every input value meets before it can reach PostgreSQL (docs/api-decisions.md,
// "Input limits"). Each check sits where the value enters: the scalars, the ID and cursor decoders,
// the filter builders and parseInput. Without them PostgreSQL refuses the value itself (NUL bytes,
// year 0) or spends seconds on it (a 900 KB search), and the client gets "Unexpected error".

/** Nesting of a JSON input (`extractedData`, `metadata`, …): `{}` is 1, `{"a": []}` is 2. */
export const MAX_JSON_DEPTH = 64;

/**
 * The longest value of each string filter: the length of the column it is compared with (a longer
 * exact value can never match; a search is a substring of the payer). `eventType` is VARCHAR(100),
 * the others VARCHAR(255).
 */
export const FILTER_MAX_LENGTH = {
  payer: 255,
  search: 255,
  memberId: 255,
  memberIdHash: 255,
  procedure: 255,
  eventType: 100,
} as const;

/** PostgreSQL has no year 0 and JavaScript writes years past 9999 with a sign: both are refused. */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');
const DATE_TIME_RANGE = '0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z';

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/**
 * The instant an ISO-8601 timestamp names, or why it names none. Stricter than `new Date()`,
 * which turns February 30 into March 2 and 24:00 into the next day: every field must be in its
 * calendar range, and the instant within DATE_TIME_RANGE (in UTC).
 */
export function parseTimestamp(value: string): { date: Date } | { error: string } {
  const match = ISO_DATE_TIME.exec(value);
  if (!match) {
    return { error: 'DateTime must be an ISO-8601 timestamp with an offset, e.g. 2026-01-31T09:00:00.000Z' };
  }
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHour = 0, offsetMinute = 0] =
    match.slice(1).map((part) => Number(part ?? 0));
  if (
    !(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHour > 23 ||
    offsetMinute > 59
  ) {
    return { error: 'DateTime is not a valid date and time: a field is out of its calendar range' };
  }
  const time = Date.parse(value);
  if (Number.isNaN(time) || time < EARLIEST || time > LATEST) {
    return { error: `DateTime must be between ${DATE_TIME_RANGE}` };
  }
  return { date: new Date(time) };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

/**
 * Whether a JSON value nests deeper than `max`. Iterative: a value of 100,000 levels (a 200 KB
 * body) must not overflow the stack here, as it would in JSON.stringify, zod or Prisma later.
 */
export function jsonTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Text PostgreSQL cannot store as given: U+0000 (SQLSTATE 22021 in text, 22P05 in jsonb), and a
 * UTF-16 surrogate without its pair (jsonb refuses its escape, 22P02; in text, node-postgres
 * would silently store U+FFFD instead of what the client sent).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The message for such text, at a field or an argument. */
export const UNSTORABLE_TEXT = 'must not contain NUL characters (U+0000) or unpaired UTF-16 surrogates';

function hasUnstorableText(value: string): boolean {
  return value.includes('\u0000') || LONE_SURROGATE.test(value);
}

/**
 * The paths inside `value` (a mutation's input, JSON included) of the strings, and of the objects
 * whose keys, hold text PostgreSQL cannot store (`hasUnstorableText`); at most `limit` of them.
 * Iterative, like jsonTooDeep, and it runs before the size checks of zod: numbers, booleans and
 * nulls are passed over without a stack entry, and a path is built only for what is found (a
 * 200 KB array of 100,000 zeros once cost 116 MB of path copies here).
 */
export function unstorableTextPaths(value: unknown, limit = 20): string[][] {
  interface Entry {
    item: unknown;
    key: string | undefined;
    parent: Entry | undefined;
  }
  const pathOf = (entry: Entry): string[] => {
    const path: string[] = [];
    for (let at: Entry | undefined = entry; at?.key !== undefined; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const found: string[][] = [];
  const stack: Entry[] = [{ item: value, key: undefined, parent: undefined }];
  const push = (item: unknown, key: string, parent: Entry) => {
    if (typeof item === 'string' || (typeof item === 'object' && item !== null))
      stack.push({ item, key, parent });
  };
  for (let entry = stack.pop(); entry && found.length < limit; entry = stack.pop()) {
    const { item } = entry;
    if (typeof item === 'string') {
      if (hasUnstorableText(item)) found.push(pathOf(entry));
    } else if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) push(item[i], String(i), entry);
    } else if (item !== null && typeof item === 'object' && !(item instanceof Date)) {
      let badKey = false;
      for (const [key, child] of Object.entries(item)) {
        if (hasUnstorableText(key)) badKey = true;
        else push(child, key, entry);
      }
      if (badKey) found.push(pathOf(entry));
    }
  }
  return found.reverse();
}

/**
 * A string filter's value, checked before it is built into a `where`: storable text, at most
 * `max` characters. The message names the argument and the limit, never the value (it may be a
 * member id).
 */
export function filterText(value: string, argument: string, max: number): string {
  if (hasUnstorableText(value)) throw badUserInput(`Argument "${argument}" ${UNSTORABLE_TEXT}`);
  // Characters as PostgreSQL counts them (code points); UTF-16 length is an upper bound of those.
  if (value.length > max && (value.length > 2 * max || [...value].length > max)) {
    throw badUserInput(`Argument "${argument}" must be at most ${max} characters`);
  }
  return value;
}

/**
 * An enum filter's values, each once: a client may repeat them (a list of 40,000 "PENDING" once
 * passed 32,767 bind parameters to PostgreSQL); the meaning of IN does not change.
 */
export function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** The most global IDs `nodes(ids:)` resolves in one request: a page's worth. */
export const MAX_NODE_IDS = 100;

/**
 * Codes a case is created with, and its diagnosis codes: far more than any real request (a prior
 * auth names a handful), far fewer than would make one mutation a denial of service.
 */
export const MAX_CASE_CODES = 100;
export const MAX_DIAGNOSIS_CODES = 50;

/** A task's description and a ruleset's notes: pages of text, not a file. */
export const MAX_DESCRIPTION_LENGTH = 10_000;
/** A procedure code's description: a line. */
export const MAX_CODE_DESCRIPTION_LENGTH = 1_000;
