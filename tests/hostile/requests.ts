import {
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isUnionType,
} from 'graphql';
import { type Action, can } from '../../src/auth/permissions.js';
import { FILTER_MAX_LENGTH } from '../../src/schema/common/input-limits.js';
import { type InputCoordinate, inputCoordinates } from './schema-walk.js';
import {
  BAD_DATE_TIMES,
  badFilterStrings,
  DEEP_JSON,
  enumValue,
  FORGED_CASE_EVENT_CURSORS,
  FORGED_KEYSET_CURSORS,
  FORGED_RELATED_CURSORS,
  globalId,
  type Labelled,
  MALFORMED_UUIDS,
  malformedIds,
  NUL_JSON,
  NUL_TEXT,
} from './values.js';

/**
 * What a hostile request must get. `code` is the error's `extensions.code`, or, for VALIDATION,
 * the union member's (a variable graphql-js refuses is BAD_USER_INPUT with HTTP 400).
 */
export interface Expected {
  status: number;
  code: string;
  /** BAD_USER_INPUT and FORBIDDEN: the first element of the error's path. */
  root?: string;
  /** VALIDATION: a fieldErrors entry with this path (inside `input`). */
  fieldPath?: string[];
}

export interface HostileRequest {
  name: string;
  as: 'ADMIN' | 'STAFF';
  /** A JSON request body: `{ query, variables }`, or any other shape for the body tests. */
  body: unknown;
  expected: Expected;
  /** The coordinate of tests/hostile/schema-walk.ts it covers, when it is about one argument. */
  covers?: string;
  mutation: boolean;
}

/** The type of the row each ID argument names (`Node`: any). A new ID argument needs its line here. */
export const ID_TYPES: Record<string, string> = {
  'Query.case(id)': 'Case',
  'Query.task(id)': 'Task',
  'Query.ruleset(id)': 'Ruleset',
  'Query.user(id)': 'User',
  'Query.ingestion(id)': 'Ingestion',
  'Query.node(id)': 'Node',
  'Query.nodes(ids)': 'Node',
  'Query.tasks(filter.assigneeId)': 'User',
  'Query.myTasks(filter.assigneeId)': 'User',
  'Case.tasks(filter.assigneeId)': 'User',
  'User.assignedTasks(filter.assigneeId)': 'User',
  'Mutation.addCaseCode(input.caseId)': 'Case',
  'Mutation.assignTask(input.assigneeId)': 'User',
  'Mutation.assignTask(input.id)': 'Task',
  'Mutation.createCase(input.ingestionId)': 'Ingestion',
  'Mutation.createTask(input.assigneeId)': 'User',
  'Mutation.createTask(input.caseId)': 'Case',
  'Mutation.deleteCase(input.id)': 'Case',
  'Mutation.deleteTask(input.id)': 'Task',
  'Mutation.removeCaseCode(input.id)': 'CaseCode',
  'Mutation.setRulesetActive(input.id)': 'Ruleset',
  'Mutation.transitionCaseStatus(input.id)': 'Case',
  'Mutation.transitionIngestionStatus(input.id)': 'Ingestion',
  'Mutation.transitionTaskStatus(input.id)': 'Task',
  'Mutation.updateCase(input.id)': 'Case',
  'Mutation.updateRuleset(input.id)': 'Ruleset',
  'Mutation.updateTask(input.id)': 'Task',
  'Mutation.updateUser(input.id)': 'User',
  'Mutation.setUserActive(input.id)': 'User',
  'Subscription.changes(caseId)': 'Case',
  'Subscription.changes(assigneeId)': 'User',
};

/**
 * A valid `input` of each mutation, naming rows that do not exist: the hostile value is its only
 * fault, and were it accepted, a create would write a row (which the test would see).
 */
export const MUTATION_INPUTS: Record<string, Record<string, unknown>> = {
  addCaseCode: { caseId: globalId('Case'), code: { codeType: enumValue('CPT'), code: '99213' } },
  assignTask: { id: globalId('Task'), assigneeId: null },
  createCase: {
    memberIdHash: 'hostile-member-hash',
    payer: 'Aetna',
    confidence: { overall: 0.5, fields: {} },
    extractedData: { note: 'x' },
    codes: [{ codeType: enumValue('CPT'), code: '99213', description: 'Office visit' }],
    diagnosisCodes: ['E11.9'],
  },
  createIngestion: {
    sourceType: enumValue('EMAIL'),
    sourceMetadata: { subject: 'Referral' },
    storagePath: 's3://intake/referral.eml',
  },
  createRuleset: {
    payer: 'Hostile Payer',
    procedure: '99213',
    rules: { requirements: ['a'], documentation: ['b'], typicalTurnaround: '5 days', notes: 'n' },
  },
  createTask: { caseId: globalId('Case'), title: 'Call the payer', description: 'd' },
  createUser: { email: 'hostile@test-clinic.com', name: 'n', role: enumValue('STAFF'), authId: 'hostile|1' },
  deleteCase: { id: globalId('Case') },
  deleteTask: { id: globalId('Task') },
  removeCaseCode: { id: globalId('CaseCode') },
  setRulesetActive: { id: globalId('Ruleset'), isActive: true },
  setUserActive: { id: globalId('User'), isActive: true },
  transitionCaseStatus: { id: globalId('Case'), status: enumValue('APPROVED'), reason: 'r' },
  // FAILED: the one move that takes an errorMessage, so that the message's text is checked too.
  transitionIngestionStatus: { id: globalId('Ingestion'), status: enumValue('FAILED'), errorMessage: 'e' },
  transitionTaskStatus: { id: globalId('Task'), status: enumValue('COMPLETED') },
  updateCase: { id: globalId('Case'), payer: 'Aetna', diagnosisCodes: ['E11.9'], metadata: {} },
  updateRuleset: {
    id: globalId('Ruleset'),
    rules: { requirements: ['a'], documentation: ['b'], typicalTurnaround: '5 days', notes: 'n' },
  },
  updateTask: { id: globalId('Task'), title: 't', description: 'd' },
  updateUser: { id: globalId('User'), name: 'n', role: enumValue('CLINICIAN') },
};

/** How a query reaches a nested field: the first row of a list, or the viewer. */
const PARENTS: Record<string, { root: string; wrap: (call: string) => string }> = {
  Query: { root: '', wrap: (call) => call },
  Mutation: { root: '', wrap: (call) => call },
  // Sent as SSE (tests/hostile/run.ts): the refusal is the stream's one result.
  Subscription: { root: '', wrap: (call) => call },
  Case: { root: 'cases', wrap: (call) => `cases(first: 1) { edges { node { ${call} } } }` },
  Ingestion: { root: 'ingestions', wrap: (call) => `ingestions(first: 1) { edges { node { ${call} } } }` },
  User: { root: 'me', wrap: (call) => `me { ${call} }` },
};

/** The table: every input coordinate × its hostile values, as ADMIN, and the first of each as STAFF. */
export function hostileRequests(schema: GraphQLSchema): HostileRequest[] {
  const requests: HostileRequest[] = [];
  for (const coordinate of inputCoordinates(schema)) {
    const field = fieldOf(schema, coordinate);
    hostileValues(coordinate, hasValidationError(field)).forEach(({ label, value, literal, expected }, i) => {
      const body = operation(coordinate, field, value, literal);
      if (!body) return;
      for (const as of i === 0 ? (['ADMIN', 'STAFF'] as const) : (['ADMIN'] as const)) {
        requests.push({
          name: `${coordinate.coordinate} ${literal ? 'literal' : 'variable'}: ${label} (${as})`,
          as,
          body,
          expected: as === 'STAFF' ? asStaff(coordinate, field, expected) : expected,
          covers: coordinate.coordinate,
          mutation: coordinate.parent === 'Mutation',
        });
      }
    });
  }
  return requests;
}

interface HostileValue {
  label: string;
  value: unknown;
  /** In the document as a literal rather than in a variable. */
  literal: boolean;
  expected: Expected;
}

/** The values a coordinate gets, and what each must answer (as ADMIN); none for an unknown kind of use. */
function hostileValues(c: InputCoordinate, validationUnion: boolean): HostileValue[] {
  const mutation = c.parent === 'Mutation';
  const root = mutation ? c.field : PARENTS[c.parent]?.root || c.field;
  const badInput: Expected = { status: 200, code: 'BAD_USER_INPUT', root };
  // A mutation's input is refused in its result union, when that has a ValidationError.
  const refused: Expected = validationUnion
    ? { status: 200, code: 'VALIDATION', fieldPath: c.valuePath.slice(1) }
    : badInput;
  const coercion: Expected = { status: 400, code: 'BAD_USER_INPUT' };
  const invalidLiteral: Expected = { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' };
  const each = (values: Labelled[], expected: Expected, literal = false) =>
    values.map(([label, value]) => ({ label, value, literal, expected }));
  switch (c.kind) {
    case 'id': {
      const type = ID_TYPES[c.coordinate];
      if (!type) return [];
      const anyNode = type === 'Node';
      return each(
        malformedIds(anyNode ? 'Case' : type, anyNode ? null : type === 'Case' ? 'Task' : 'Case'),
        refused,
      );
    }
    case 'uuid':
      return [...each(MALFORMED_UUIDS, coercion), ...each(MALFORMED_UUIDS.slice(0, 1), invalidLiteral, true)];
    case 'dateTime':
      return [...each(BAD_DATE_TIMES, coercion), ...each(BAD_DATE_TIMES.slice(0, 1), invalidLiteral, true)];
    case 'string': {
      if (mutation) return each([NUL_TEXT], refused);
      const limit = FILTER_MAX_LENGTH[c.valuePath.at(-1) as keyof typeof FILTER_MAX_LENGTH];
      if (!limit) return [];
      const values = badFilterStrings(limit);
      return [...each(values, refused), ...each(values.slice(0, 1), refused, true)];
    }
    case 'cursor':
      return each(
        c.parent === 'Query'
          ? FORGED_KEYSET_CURSORS
          : c.parent === 'Case' && c.field === 'events'
            ? FORGED_CASE_EVENT_CURSORS
            : FORGED_RELATED_CURSORS,
        refused,
      );
    case 'json':
      return [
        ...each(DEEP_JSON, coercion),
        ...each(DEEP_JSON.slice(0, 1), invalidLiteral, true),
        ...each(NUL_JSON, refused),
      ];
  }
}

function fieldOf(schema: GraphQLSchema, c: InputCoordinate): GraphQLField<unknown, unknown> {
  const field = (schema.getType(c.parent) as GraphQLObjectType).getFields()[c.field];
  if (!field) throw new Error(`no field ${c.parent}.${c.field}`);
  return field;
}

function hasValidationError(field: GraphQLField<unknown, unknown>): boolean {
  const type = getNamedType(field.type);
  return isUnionType(type) && type.getTypes().some((member) => member.name === 'ValidationError');
}

/** A refusal during execution is FORBIDDEN for STAFF where the field's action is not theirs. */
function asStaff(c: InputCoordinate, field: GraphQLField<unknown, unknown>, expected: Expected): Expected {
  const action = (field.extensions as { pothosOptions?: { authScopes?: { can?: Action } } }).pothosOptions
    ?.authScopes?.can;
  if (expected.status !== 200 || !action || can('staff', action)) return expected;
  return { status: 200, code: 'FORBIDDEN', root: c.parent === 'Mutation' ? c.field : expected.root };
}

/** `{ query, variables }` sending `value` at the coordinate, the rest of its argument valid. */
function operation(
  c: InputCoordinate,
  field: GraphQLField<unknown, unknown>,
  value: unknown,
  literal: boolean,
): { query: string; variables: Record<string, unknown> } | undefined {
  const parent = PARENTS[c.parent];
  const [name = '', ...inner] = c.valuePath;
  const arg = field.args.find((a) => a.name === name);
  const base = c.parent === 'Mutation' ? MUTATION_INPUTS[c.field] : undefined;
  if (!parent || !arg || (c.parent === 'Mutation' && !base)) return undefined;
  const argument = setAt(base, inner, value);
  const call = `${c.field}(${name}: ${literal ? toLiteral(argument) : '$v'}) ${selectionOf(field)}`;
  const kind =
    ({ Mutation: 'mutation', Subscription: 'subscription' } as Record<string, string>)[c.parent] ?? 'query';
  return {
    query: `${kind} Hostile${literal ? '' : `($v: ${String(arg.type)})`} { ${parent.wrap(call)} }`,
    variables: literal ? {} : { v: argument },
  };
}

/** A copy of `target` with `value` at `path` (`'0'`: the first item of a list). */
function setAt(target: unknown, path: string[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (/^\d+$/.test(head)) {
    const list = Array.isArray(target) ? [...target] : [];
    list[Number(head)] = setAt(list[Number(head)], rest, value);
    return list;
  }
  const object = { ...(target as Record<string, unknown> | undefined) };
  object[head] = setAt(object[head], rest, value);
  return object;
}

function selectionOf(field: GraphQLField<unknown, unknown>): string {
  const type = getNamedType(field.type);
  if (isUnionType(type)) {
    const fieldErrors = hasValidationError(field) ? ' ... on ValidationError { fieldErrors { path } }' : '';
    return `{ __typename ... on Error { code }${fieldErrors} }`;
  }
  if (!isObjectType(type) && !isInterfaceType(type)) return '';
  const fields = type.getFields();
  if (fields.edges) return '{ edges { cursor } }';
  if (fields.id) return '{ id }';
  const leaf = Object.values(fields).find((f) => isLeafType(getNamedType(f.type)) && f.args.length === 0);
  return `{ ${leaf?.name ?? '__typename'} }`;
}

/** A GraphQL literal of a variable's value: enums (`enumValue`) bare, deep JSON written out. */
function toLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `[${value.map(toLiteral).join(', ')}]`;
  if ('deepJson' in value) {
    const depth = (value as { deepJson: number }).deepJson;
    return '['.repeat(depth) + ']'.repeat(depth);
  }
  if ('enumValue' in value) return String((value as { enumValue: string }).enumValue);
  return `{ ${Object.entries(value)
    .map(([key, item]) => `${key}: ${toLiteral(item)}`)
    .join(', ')} }`;
}
