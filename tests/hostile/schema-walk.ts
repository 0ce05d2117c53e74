import {
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';

/** The kinds of input the hostile table must cover wherever the schema takes one. */
export type InputKind = 'id' | 'uuid' | 'dateTime' | 'string' | 'cursor' | 'json';

/**
 * One place a value enters: `Query.tasks(filter.assigneeId)`, `Mutation.createTask(input.caseId)`,
 * `Case.tasks(after)`. `valuePath` is the value's path from the argument, `0` standing for the
 * first item of a list: `['input', 'codes', '0', 'code']`, `['ids', '0']`.
 */
export interface InputCoordinate {
  kind: InputKind;
  /** The type that has the field: Query, Mutation, Case, … */
  parent: string;
  field: string;
  valuePath: string[];
  coordinate: string;
}

const KIND_OF_SCALAR: Record<string, InputKind> = {
  ID: 'id',
  UUID: 'uuid',
  DateTime: 'dateTime',
  String: 'string',
  JSON: 'json',
};

/**
 * Every argument and input field, reachable from any field of any object type, whose type is one
 * of the kinds above. `after`/`before` are cursors, not strings. Walking the schema (not a list
 * kept by hand) is what makes the table fail when a new argument has no hostile requests.
 */
export function inputCoordinates(schema: GraphQLSchema): InputCoordinate[] {
  const found: InputCoordinate[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      for (const arg of field.args) walkArgument(type.name, field.name, arg, found);
    }
  }
  return found.sort((a, b) => a.coordinate.localeCompare(b.coordinate));
}

function walkArgument(parent: string, field: string, arg: GraphQLArgument, found: InputCoordinate[]): void {
  // [type, names on the path, value path, input types on the path (a recursive type stops there)]
  const stack: [GraphQLInputType, string[], string[], string[]][] = [[arg.type, [arg.name], [arg.name], []]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [type, names, path] = next;
    const unwrapped = isNonNullType(type) ? type.ofType : type;
    const valuePath = isListType(unwrapped) ? [...path, '0'] : path;
    const named = getNamedType(type);
    if (isInputObjectType(named)) {
      if (next[3].includes(named.name)) continue;
      for (const inner of Object.values(named.getFields())) {
        stack.push([
          inner.type,
          [...names, inner.name],
          [...valuePath, inner.name],
          [...next[3], named.name],
        ]);
      }
      continue;
    }
    const scalarKind = KIND_OF_SCALAR[named.name];
    if (!scalarKind) continue;
    const cursor = names.length === 1 && (arg.name === 'after' || arg.name === 'before');
    found.push({
      kind: cursor ? 'cursor' : scalarKind,
      parent,
      field,
      valuePath,
      coordinate: `${parent}.${field}(${names.join('.')})`,
    });
  }
}
