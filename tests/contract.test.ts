import { existsSync, readFileSync } from 'node:fs';
import {
  buildSchema,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isUnionType,
} from 'graphql';
import { expect, test } from 'vitest';

// docs/contract.graphql is the public contract, kept in the repo (a copy of shared/api/contract.graphql,
// which exists beside the repo on the team's machines), and docs/realtime.graphql its realtime part
// (the change feed, a copy of shared/api/realtime.graphql), which uses contract.graphql's types: the
// two are built as one schema and checked together. Every type, field, argument, enum value,
// union member and interface it names must be in the committed schema.graphql with the same type
// reference. The schema may add fields, types and optional arguments; it may not rename, drop or
// weaken anything. Enums and unions must match exactly: clients switch over them. One decided
// exception (docs/api-decisions.md, "A malformed global ID"): the result unions below also hold
// ValidationError, so that a malformed ID is the same field error in every mutation. A client
// written against the contract sees it only for an ID it should not have sent.

const VALIDATION_ERROR_ADDED_TO = new Set([
  'DeleteCaseResult',
  'DeleteTaskResult',
  'RemoveCaseCodeResult',
  'SetRulesetActiveResult',
  'TransitionTaskStatusResult',
]);

/** The repo's copies of the shared contract files: docs/<name> is ../shared/api/<name>. */
const CONTRACT_FILES = ['contract.graphql', 'realtime.graphql', 'admin.graphql'];

const contract = buildSchema(CONTRACT_FILES.map((name) => readFileSync(`docs/${name}`, 'utf8')).join('\n'));
const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));

function differences(): string[] {
  const found: string[] = [];
  for (const expected of Object.values(contract.getTypeMap())) {
    if (expected.name.startsWith('__')) continue;
    const actual = schema.getType(expected.name);
    if (!actual) {
      found.push(`type ${expected.name} is missing`);
      continue;
    }
    if (kind(actual) !== kind(expected)) {
      found.push(`type ${expected.name} is a ${kind(actual)}, the contract says ${kind(expected)}`);
      continue;
    }
    if (isObjectType(expected) || isInterfaceType(expected)) {
      const fields = (actual as typeof expected).getFields();
      for (const field of Object.values(expected.getFields())) {
        const mine = fields[field.name];
        if (!mine) found.push(`${expected.name}.${field.name} is missing`);
        else compareField(`${expected.name}.${field.name}`, field, mine, found);
      }
      const mine = new Set((actual as typeof expected).getInterfaces().map((i) => i.name));
      for (const iface of expected.getInterfaces()) {
        if (!mine.has(iface.name)) found.push(`${expected.name} does not implement ${iface.name}`);
      }
    }
    if (isInputObjectType(expected) && isInputObjectType(actual)) {
      const fields = actual.getFields();
      for (const field of Object.values(expected.getFields())) {
        const mine = fields[field.name];
        if (!mine) found.push(`${expected.name}.${field.name} is missing`);
        else compareInput(`${expected.name}.${field.name}`, field, mine, found);
      }
      for (const field of Object.values(fields)) {
        if (
          !expected.getFields()[field.name] &&
          isNonNullType(field.type) &&
          field.defaultValue === undefined
        ) {
          found.push(`${expected.name}.${field.name} is an added required input field`);
        }
      }
    }
    if (isEnumType(expected) && isEnumType(actual)) {
      const want = expected
        .getValues()
        .map((v) => v.name)
        .sort();
      const have = actual
        .getValues()
        .map((v) => v.name)
        .sort();
      if (want.join() !== have.join())
        found.push(`enum ${expected.name} is [${have}], the contract says [${want}]`);
    }
    if (isUnionType(expected) && isUnionType(actual)) {
      const want = expected
        .getTypes()
        .map((t) => t.name)
        .sort();
      const have = actual
        .getTypes()
        .map((t) => t.name)
        .filter((name) => !(name === 'ValidationError' && VALIDATION_ERROR_ADDED_TO.has(expected.name)))
        .sort();
      if (want.join() !== have.join())
        found.push(`union ${expected.name} is ${have.join(' | ')}, the contract says ${want.join(' | ')}`);
    }
  }
  return found;
}

function kind(type: GraphQLNamedType): string {
  return type.astNode?.kind ?? type.constructor.name;
}

function compareField(
  path: string,
  expected: GraphQLField<unknown, unknown>,
  actual: GraphQLField<unknown, unknown>,
  found: string[],
) {
  if (String(actual.type) !== String(expected.type))
    found.push(`${path} is ${actual.type}, the contract says ${expected.type}`);
  const args = new Map(actual.args.map((a) => [a.name, a]));
  for (const arg of expected.args) {
    const mine = args.get(arg.name);
    if (!mine) found.push(`${path}(${arg.name}) is missing`);
    else compareInput(`${path}(${arg.name})`, arg, mine, found);
  }
  for (const arg of actual.args) {
    if (
      !expected.args.some((a) => a.name === arg.name) &&
      isNonNullType(arg.type) &&
      arg.defaultValue === undefined
    ) {
      found.push(`${path}(${arg.name}) is an added required argument`);
    }
  }
}

function compareInput(
  path: string,
  expected: GraphQLArgument | GraphQLInputField,
  actual: GraphQLArgument | GraphQLInputField,
  found: string[],
) {
  if (String(actual.type) !== String(expected.type))
    found.push(`${path} is ${actual.type}, the contract says ${expected.type}`);
  const want = expected.astNode?.defaultValue;
  const have = actual.astNode?.defaultValue;
  if (want && JSON.stringify(strip(want)) !== JSON.stringify(strip(have))) {
    found.push(
      `${path} defaults to ${have ? JSON.stringify(strip(have)) : 'nothing'}, the contract says ${JSON.stringify(strip(want))}`,
    );
  }
}

function strip(node: unknown): unknown {
  return JSON.parse(JSON.stringify(node ?? null, (key, value) => (key === 'loc' ? undefined : value)));
}

test('schema.graphql honours every part of the contract', () => {
  expect(differences()).toEqual([]);
});

test('ValidationError is added to exactly the unions listed, each lacking it in the contract', () => {
  const added = Object.values(contract.getTypeMap())
    .filter(isUnionType)
    .filter((union) => !union.getTypes().some((t) => t.name === 'ValidationError'))
    .filter((union) => {
      const mine = schema.getType(union.name);
      return isUnionType(mine) && mine.getTypes().some((t) => t.name === 'ValidationError');
    })
    .map((union) => union.name);
  expect(added.sort()).toEqual([...VALIDATION_ERROR_ADDED_TO].sort());
});

test('the realtime contract is part of what is checked: Subscription.changes and its types', () => {
  const subscription = contract.getSubscriptionType();
  expect(Object.keys(subscription?.getFields() ?? {})).toEqual(['changes']);
  for (const name of ['Change', 'ChangeEntity', 'ChangeKind'])
    expect(contract.getType(name), name).toBeDefined();
});

test.each(CONTRACT_FILES)('docs/%s is the shared one, unchanged', (name) => {
  const shared = `../shared/api/${name}`;
  if (!existsSync(shared)) return; // a clone without the team's shared folder: the copy is the contract
  expect(readFileSync(`docs/${name}`, 'utf8')).toBe(readFileSync(shared, 'utf8'));
});
