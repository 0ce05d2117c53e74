import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  Kind,
  type SelectionSetNode,
} from 'graphql';
import type { Role } from '../domain/vocabulary.js';
import { Builder, type Emit, type Site } from './gen.js';
import { rowFieldsEmit } from './objects.js';
import { Untranslatable } from './sql.js';

/** A query operation compiled for one role and one set of @skip/@include values. */
export interface Skeleton {
  /** The fields whose arguments are read per request. */
  sites: Site[];
  /** Case.extractedData is read by a role that may (case:readExtractedData): the statement also returns the case ids. */
  audit: boolean;
  emit: Emit;
}

/**
 * The skeleton of a query operation: every selected field's declared SQL, checked against what
 * the compiler covers (Untranslatable when it does not), the sites, and the statement's emitter.
 */
export function buildSkeleton(
  schema: GraphQLSchema,
  fragments: Record<string, FragmentDefinitionNode>,
  selectionSet: SelectionSetNode,
  variables: Record<string, unknown>,
  role: Role,
): Skeleton {
  const queryType = schema.getQueryType();
  if (!queryType) throw new Untranslatable('a schema without Query');
  const b = new Builder(schema, fragments, variables, role);
  // The operation's selection as the subfields of one field node: collected as collectFields would.
  const operation: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: 'query' }, selectionSet };
  // Query's fields read no row.
  const parts = rowFieldsEmit(b, queryType, '', undefined, [operation]);
  if (parts.length === 0) throw new Untranslatable('an operation that selects nothing');
  return {
    sites: b.sites,
    audit: b.audit,
    emit: (g) =>
      `SELECT json_build_object(${parts.map(([key, emit]) => `${key(g)}, ${emit(g)}`).join(', ')})::text AS data`,
  };
}
