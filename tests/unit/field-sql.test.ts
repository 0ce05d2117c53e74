import { type GraphQLObjectType, getNamedType, isInterfaceType, isObjectType, isUnionType } from 'graphql';
import { expect, test } from 'vitest';
import { declaredSql } from '../../src/compiled/field-sql.js';
import { schema } from '../../src/schema/index.js';

// A field's SQL is declared beside its Pothos field (`extensions: { sql }`, src/compiled/field-sql.ts).
// Walking the built schema from Query, through every field that declares SQL, reaches the types
// the compiler covers; each of their fields must declare its SQL or that it is not compiled, so a
// field added without either fails here instead of sending its queries to the resolvers unseen.

interface Walk {
  /** The object types reached through compiled fields. */
  covered: Set<string>;
  /** `Type.field`s that declare nothing. */
  undeclared: string[];
  /** `Type.field`s marked not compiled. */
  notCompiled: string[];
  /** The kinds of SQL each covered type's fields declare. */
  kinds: Map<string, Set<string>>;
}

function walk(from: GraphQLObjectType): Walk {
  const result: Walk = { covered: new Set(), undeclared: [], notCompiled: [], kinds: new Map() };
  const pending = [from];
  for (let type = pending.pop(); type; type = pending.pop()) {
    if (result.covered.has(type.name)) continue;
    result.covered.add(type.name);
    const kinds = new Set<string>();
    result.kinds.set(type.name, kinds);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const sql = declaredSql(field);
      if (!sql) {
        result.undeclared.push(coordinate);
      } else if (sql.kind === 'notCompiled') {
        result.notCompiled.push(coordinate);
      } else {
        kinds.add(sql.kind);
        const named = getNamedType(field.type);
        if (isObjectType(named)) pending.push(named);
        // The compiler emits object types only, never an interface or a union.
        else expect(isInterfaceType(named) || isUnionType(named), coordinate).toBe(false);
      }
    }
  }
  return result;
}

const queryType = schema.getQueryType() as GraphQLObjectType;
const result = walk(queryType);

test('every field of every type the compiler covers declares its SQL or that it is not compiled', () => {
  expect(result.undeclared).toEqual([]);
  expect([...result.covered].sort()).toEqual([
    'AuditLog',
    'AuditLogConnection',
    'AuditLogEdge',
    'Case',
    'CaseCode',
    'CaseConnection',
    'CaseEdge',
    'Confidence',
    'Event',
    'EventConnection',
    'EventEdge',
    'Ingestion',
    'IngestionConnection',
    'IngestionEdge',
    'PageInfo',
    'Query',
    'Ruleset',
    'RulesetConnection',
    'RulesetEdge',
    'RulesetRules',
    'Task',
    'TaskConnection',
    'TaskEdge',
    'Tenant',
    'User',
    'UserConnection',
    'UserEdge',
  ]);
});

test('the fields the resolvers always answer are marked so, with a reason', () => {
  expect(result.notCompiled.sort()).toEqual([
    'Query.caseStats',
    'Query.node',
    'Query.nodes',
    'Query.taskStats',
  ]);
  for (const coordinate of result.notCompiled) {
    const [type, field] = coordinate.split('.') as [string, string];
    const sql = declaredSql((schema.getType(type) as GraphQLObjectType).getFields()[field] as never);
    expect(sql?.kind === 'notCompiled' && sql.reason.length > 0, coordinate).toBe(true);
  }
});

test("a type's fields all declare SQL of one kind: the place the type takes in the statement", () => {
  const expected = (name: string) =>
    name === 'PageInfo'
      ? 'pageInfo'
      : name.endsWith('Connection')
        ? 'connection'
        : name.endsWith('Edge')
          ? 'edge'
          : name === 'Confidence' || name === 'RulesetRules'
            ? 'value'
            : 'row';
  for (const [name, kinds] of result.kinds) {
    expect([...kinds], name).toEqual([expected(name)]);
  }
});
