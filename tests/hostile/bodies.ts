import type { Expected, HostileRequest } from './requests.js';
import { base64, globalId, keysetCursor, NO_ROW } from './values.js';

// Hostile requests that are not about one argument: the body's shape, the document itself, and
// arguments whose forgeries need an order or a size beside them.

const ME = '{ me { email } }';
const badRequest: Expected = { status: 400, code: 'BAD_REQUEST' };
const noOperation: Expected = { status: 400, code: 'OPERATION_RESOLUTION_FAILURE' };
const badInput = (root: string): Expected => ({ status: 200, code: 'BAD_USER_INPUT', root });

const shapes: [string, unknown][] = [
  ['an object', { x: 1 }],
  ['a number', 5],
  ['a list', ['Q']],
  ['true', true],
];

const body = (name: string, requestBody: unknown, expected: Expected): HostileRequest => ({
  name,
  as: 'ADMIN',
  body: requestBody,
  expected,
  mutation: false,
});

/** Bodies whose parameters have the wrong shape: 400, as GraphQL over HTTP says. */
export const BODY_REQUESTS: HostileRequest[] = [
  ...shapes.map(([label, value]) =>
    body(`operationName is ${label}`, { query: ME, operationName: value }, badRequest),
  ),
  ...shapes.map(([label, value]) => body(`query is ${label}`, { query: value }, badRequest)),
  body('no query', { variables: {} }, badRequest),
  ...shapes
    .filter(([label]) => label !== 'an object')
    .map(([label, value]) => body(`variables is ${label}`, { query: ME, variables: value }, badRequest)),
  body('variables is a string', { query: ME, variables: '{}' }, badRequest),
  body('extensions is a string', { query: ME, extensions: 'x' }, badRequest),
  body('extensions is a number', { query: ME, extensions: 5 }, badRequest),
  body('an unknown parameter', { query: ME, operation: 'x' }, badRequest),
  body('a batch', '[{"query":"{ me { email } }"}]', badRequest),
  body('an empty list', '[]', badRequest),
  body('a number', '5', badRequest),
  body('null', 'null', badRequest),
  body('a string', '"{ me { email } }"', badRequest),
  body('cut-off JSON', '{"query": "{ me', badRequest),
  body('empty', '', badRequest),
  body(
    'a raw NUL in the document',
    { query: '{ me { email } }\u0000' },
    { status: 400, code: 'GRAPHQL_PARSE_FAILED' },
  ),
  body(
    'an operationName with a NUL, naming no operation',
    { query: 'query Me { me { email } }', operationName: 'Me\u0000' },
    noOperation,
  ),
  body(
    'an operationName of 100,000 characters',
    { query: 'query Me { me { email } }', operationName: 'M'.repeat(100_000) },
    noOperation,
  ),
];

const query = (name: string, text: string, expected: Expected, variables: Record<string, unknown> = {}) =>
  body(name, { query: text, variables }, expected);

/** Arguments whose forgery needs another argument beside it (an order, a size). */
export const ARGUMENT_REQUESTS: HostileRequest[] = [
  query(
    'cases(orderBy: PRIORITY_DESC): a rank past SMALLINT',
    'query ($a: String) { cases(orderBy: PRIORITY_DESC, after: $a) { edges { cursor } } }',
    badInput('cases'),
    { a: keysetCursor(['PRIORITY_DESC', 99_999_999, NO_ROW]) },
  ),
  query(
    'cases(orderBy: PRIORITY_DESC): a rank that is no integer',
    'query ($a: String) { cases(orderBy: PRIORITY_DESC, after: $a) { edges { cursor } } }',
    badInput('cases'),
    { a: keysetCursor(['PRIORITY_DESC', 1.5, NO_ROW]) },
  ),
  query(
    'tasks(orderBy: DUE_DATE_ASC): a null id',
    'query ($a: String) { tasks(orderBy: DUE_DATE_ASC, after: $a) { edges { cursor } } }',
    badInput('tasks'),
    { a: keysetCursor(['DUE_DATE_ASC', null, null]) },
  ),
  query(
    'myTasks(orderBy: UPDATED_AT_DESC): a date that is not one',
    'query ($b: String) { myTasks(orderBy: UPDATED_AT_DESC, before: $b) { edges { cursor } } }',
    badInput('myTasks'),
    { b: keysetCursor(['UPDATED_AT_DESC', { d: '2021-13-01T00:00:00.000Z' }, NO_ROW]) },
  ),
  query(
    'Case.tasks(first: -1)',
    '{ cases(first: 1) { edges { node { tasks(first: -1) { edges { cursor } } } } } }',
    badInput('cases'),
  ),
  query(
    'Case.tasks(first: 101)',
    '{ cases(first: 1) { edges { node { tasks(first: 101) { edges { cursor } } } } } }',
    badInput('cases'),
  ),
  query(
    'Case.tasks(first, before)',
    `{ cases(first: 1) { edges { node { tasks(first: 1, before: "${base64(`GPC:S:${NO_ROW}`)}") { edges { cursor } } } } } }`,
    badInput('cases'),
  ),
  query(
    'User.assignedTasks(after, before)',
    `{ me { assignedTasks(after: "${base64(`GPC:S:${NO_ROW}`)}", before: "zzz") { edges { cursor } } } }`,
    badInput('me'),
  ),
  query(
    'Ingestion.cases(last: -5)',
    '{ ingestions(first: 1) { edges { node { cases(last: -5) { edges { cursor } } } } } }',
    badInput('ingestions'),
  ),
  query('node(id: 123), an Int', '{ node(id: 123) { id } }', badInput('node')),
  query(
    'nodes(ids): one good, one malformed',
    'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }',
    badInput('nodes'),
    { ids: [globalId('Case'), 'zzz'] },
  ),
  query(
    'node(id): an Event ID whose key is no UUID',
    'query ($id: ID!) { node(id: $id) { id } }',
    badInput('node'),
    { id: globalId('Event', '1') },
  ),
];
