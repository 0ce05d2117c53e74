import type { TestApp } from '../helpers/app.js';
import { ALL_TABLES } from '../helpers/db.js';
import type { HostileRequest } from './requests.js';
import { requestBody } from './values.js';

export type Tokens = Record<HostileRequest['as'], string>;

/** How a request reaches the server: `TestApp.fetch` (yoga in-process), or over a socket. */
export type Send = (path: string, init: RequestInit) => Promise<Response>;

export async function roleTokens(app: TestApp): Promise<Tokens> {
  return { ADMIN: await app.token('admin@test-clinic.com'), STAFF: await app.token('staff@test-clinic.com') };
}

interface ResponseBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

/**
 * Sends one hostile request over HTTP (yoga.fetch) and says what is wrong with its answer, or
 * undefined when it is the expected one: the HTTP status, the error code (or the union's), where
 * the error points, and never an unexpected error.
 */
export async function sendHostile(
  send: Send,
  tokens: Tokens,
  request: HostileRequest,
): Promise<string | undefined> {
  const subscription = /^\s*subscription\b/.test((request.body as { query?: string }).query ?? '');
  const response = await send('/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: subscription ? 'text/event-stream' : 'application/graphql-response+json',
      authorization: `Bearer ${tokens[request.as]}`,
    },
    body: typeof request.body === 'string' ? request.body : requestBody(request.body),
  });
  // A refused subscription is one `next` event, then `complete`: its data is the result.
  const text = subscription ? firstEventData(await response.text()) : await response.text();
  const wrong = (what: string) => `${request.name}: ${what}; got ${response.status} ${text.slice(0, 400)}`;
  if (response.status !== request.expected.status) return wrong(`expected HTTP ${request.expected.status}`);
  if (/Unexpected error|INTERNAL_SERVER_ERROR/.test(text)) return wrong('an unexpected error');
  let body: ResponseBody;
  try {
    body = JSON.parse(text) as ResponseBody;
  } catch {
    return wrong('a body that is not JSON');
  }
  const { code, root, fieldPath } = request.expected;
  if (code === 'VALIDATION') {
    const result = Object.values(body.data ?? {})[0] as
      | { __typename?: string; code?: string; fieldErrors?: { path: string[] }[] }
      | undefined;
    if (result?.code !== 'VALIDATION') return wrong('expected a ValidationError');
    // At the field, or inside it (a JSON input's own keys).
    const at = (fieldPath ?? []).join('.');
    const paths = (result.fieldErrors ?? []).map((e) => e.path.join('.'));
    return paths.some((path) => path === at || path.startsWith(`${at}.`))
      ? undefined
      : wrong(`expected a field error at ${at}`);
  }
  const errors = body.errors ?? [];
  if (errors.length === 0) return wrong(`expected ${code ?? 'an error without code'}`);
  if (errors.some((e) => (e.extensions?.code ?? null) !== code)) return wrong(`expected every error ${code}`);
  if (root !== undefined && errors[0]?.path?.[0] !== root) return wrong(`expected the error at ${root}`);
  return undefined;
}

/** The first `data:` of an SSE response (a refused subscription's result), or the text as it is. */
function firstEventData(text: string): string {
  return /^data: (.*)$/m.exec(text)?.[1] ?? text;
}

/** Sends the requests one after another; the failures, each with its request's name. */
export async function sendAll(
  send: Send,
  tokens: Tokens,
  requests: HostileRequest[],
  after?: (request: HostileRequest) => Promise<string | undefined>,
): Promise<string[]> {
  const failures: string[] = [];
  for (const request of requests) {
    const failure = (await sendHostile(send, tokens, request)) ?? (await after?.(request));
    if (failure) failures.push(failure);
  }
  return failures;
}

const FINGERPRINT = `SELECT concat_ws('|', ${ALL_TABLES.map(
  (t) => `(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM ${t} x)`,
).join(', ')}) AS fingerprint`;

/** Every row of every table, hashed (as the owner, past RLS): equal before and after, nothing was written. */
export async function databaseFingerprint(app: TestApp): Promise<string> {
  const [row] = await app.owner.$queryRawUnsafe<{ fingerprint: string }[]>(FINGERPRINT);
  return row?.fingerprint ?? '';
}

/** Log lines that say something went wrong in the server, not in the request. */
export function alarmingLines(lines: Record<string, unknown>[]): Record<string, unknown>[] {
  return lines.filter(
    (line) =>
      line.msg === 'unexpected error' ||
      line.msg === 'the database refused a value of the request' ||
      (typeof line.level === 'number' && line.level >= 50),
  );
}
