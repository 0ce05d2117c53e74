import { encodeGlobalID } from '@pothos/plugin-relay';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionNode,
  type VariableDefinitionNode,
  visit,
} from 'graphql';
import type { Context } from '../context.js';

/**
 * A mutation's payload read as a compiled query (issue 13). A payload field that returns the row
 * a mutation wrote (`CreateTaskPayload.task`) declares where the payload object keeps the row's id
 * (`payloadRow('taskId')`); its type has a root field of the same name that reads a row by id
 * (`Query.task(id:)`). For an operation that is one mutation, the executor then runs the mutation
 * with those fields left out, and reads them afterwards as `{ task: task(id: …) { <the same
 * selection> } }` through the compiled path (src/compiled/index.ts): one SQL statement instead of
 * Prisma's read with Pothos' selection mapping, in the same transaction, and the resolvers of the
 * query when the compiler does not cover the selection. Anything else (several mutations,
 * directives or named fragments at the payload's level) runs as it always does.
 */

/** The `extensions` of a payload field whose row the payload object holds as `payload[idProperty]`. */
export function payloadRow(idProperty: string): { payloadRow: string } {
  return { payloadRow: idProperty };
}

interface PayloadField {
  /** The field's response key in the payload (its alias or name). */
  key: string;
  /** The payload object's property holding the row id; the row's type name. */
  idProperty: string;
  typeName: string;
  /** The read's variable for the row's id. */
  variable: string;
}

interface PayloadPlan {
  /** The mutation field's response key and the payload type's name. */
  mutationKey: string;
  payloadType: string;
  fields: PayloadField[];
  /** The operation with the payload's row fields replaced by `<key>: __typename`. */
  mutation: DocumentNode;
  /** `query ($p0: ID!, …) { <key>: <root>(id: $p0) <selection> … }` with the fragments it uses. */
  read: DocumentNode;
}

const plans = new WeakMap<DocumentNode, Map<string, PayloadPlan | null>>();

function planOf(args: ExecutionArgs): PayloadPlan | null {
  let byOperation = plans.get(args.document);
  if (!byOperation) {
    byOperation = new Map();
    plans.set(args.document, byOperation);
  }
  const key = args.operationName ?? '';
  let plan = byOperation.get(key);
  if (plan === undefined) {
    plan = buildPlan(args.schema, args.document, args.operationName);
    byOperation.set(key, plan);
  }
  return plan;
}

function buildPlan(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
): PayloadPlan | null {
  const operation = getOperationAST(document, operationName);
  const [field, ...others] = operation?.selectionSet.selections ?? [];
  if (operation?.operation !== 'mutation' || others.length > 0 || field?.kind !== Kind.FIELD) return null;
  if (field.directives?.length || !field.selectionSet) return null;
  const payloadType = schema
    .getMutationType()
    ?.getFields()
    [field.name.value]?.type.toString()
    .replace(/Result!?$/, 'Payload');
  const payload = payloadType ? schema.getType(payloadType) : undefined;
  const query = schema.getQueryType();
  if (!isObjectType(payload) || !query) return null;

  // Only where every selection of a row field is one this rewrites: a named fragment, or a
  // fragment within the payload's, may select it again, and would then be merged with the mark.
  const onPayload: FieldNode[] = [];
  for (const selection of field.selectionSet.selections) {
    if (selection.kind === Kind.FRAGMENT_SPREAD) return null;
    if (selection.kind !== Kind.INLINE_FRAGMENT) continue;
    if (!selection.typeCondition) return null;
    if (selection.typeCondition.name.value !== payload.name) continue;
    for (const inner of selection.selectionSet.selections) {
      if (inner.kind !== Kind.FIELD) return null;
      onPayload.push(inner);
    }
  }
  const keyOf = (node: FieldNode) => node.alias?.value ?? node.name.value;
  const keys = onPayload.map(keyOf);
  const taken = new Set(
    (operation.variableDefinitions ?? []).map((definition) => definition.variable.name.value),
  );

  const fields: PayloadField[] = [];
  const readSelections: FieldNode[] = [];
  const rewrite = (selection: SelectionNode): SelectionNode => {
    if (selection.kind !== Kind.INLINE_FRAGMENT || selection.typeCondition?.name.value !== payload.name) {
      return selection;
    }
    const selections = selection.selectionSet.selections.map((inner) => {
      if (inner.kind !== Kind.FIELD || inner.directives?.length || !inner.selectionSet) return inner;
      if (keys.filter((key) => key === keyOf(inner)).length > 1) return inner;
      const definition = payload.getFields()[inner.name.value];
      const idProperty = definition?.extensions.payloadRow;
      if (!definition || typeof idProperty !== 'string') return inner;
      const typeName = getNamedType(definition.type).name;
      const root = `${typeName.charAt(0).toLowerCase()}${typeName.slice(1)}`;
      if (!query.getFields()[root]?.args.some((arg) => arg.name === 'id')) return inner;
      const key = keyOf(inner);
      // A name none of the operation's variables has.
      let variable = `payloadRow${fields.length}`;
      while (taken.has(variable)) variable += '_';
      taken.add(variable);
      fields.push({ key, idProperty, typeName, variable });
      readSelections.push({
        ...inner,
        alias: { kind: Kind.NAME, value: key },
        name: { kind: Kind.NAME, value: root },
        arguments: [
          {
            kind: Kind.ARGUMENT,
            name: { kind: Kind.NAME, value: 'id' },
            value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: variable } },
          },
        ],
      });
      // Kept under its key, as the payload's type name: the mark of a row still to read.
      const placeholder: FieldNode = {
        ...inner,
        alias: { kind: Kind.NAME, value: key },
        name: { kind: Kind.NAME, value: '__typename' },
        arguments: [],
        selectionSet: undefined,
      };
      return placeholder;
    });
    return { ...selection, selectionSet: { ...selection.selectionSet, selections } };
  };
  const selections = field.selectionSet.selections.map(rewrite);
  // A row field selected twice under one key (two fragments) is left to the resolvers whole.
  if (fields.length === 0 || new Set(fields.map((f) => f.key)).size < fields.length) return null;

  const mutationOperation: OperationDefinitionNode = {
    ...operation,
    selectionSet: {
      ...operation.selectionSet,
      selections: [{ ...field, selectionSet: { ...field.selectionSet, selections } }],
    },
  };
  const fragments = document.definitions.filter(
    (definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION,
  );
  return {
    mutationKey: field.alias?.value ?? field.name.value,
    payloadType: payload.name,
    fields,
    mutation: { ...document, definitions: [mutationOperation, ...fragments] },
    read: readDocument(
      operation,
      readSelections,
      fragments,
      fields.map((f) => f.variable),
    ),
  };
}

/** The query of the payload's rows, declaring the operation's variables its selections use. */
function readDocument(
  operation: OperationDefinitionNode,
  selections: FieldNode[],
  fragments: FragmentDefinitionNode[],
  rowVariables: string[],
): DocumentNode {
  const used = new Set<string>();
  const spread = new Set<string>();
  const collect = (node: FieldNode | FragmentDefinitionNode) =>
    visit(node, {
      Variable: (variable) => void used.add(variable.name.value),
      FragmentSpread: (fragment) => void spread.add(fragment.name.value),
    });
  for (const selection of selections) collect(selection);
  // Fragments spread in fragments: until no new one is found.
  for (let size = -1; size !== spread.size; ) {
    size = spread.size;
    for (const fragment of fragments) if (spread.has(fragment.name.value)) collect(fragment);
  }
  const rowIds: VariableDefinitionNode[] = rowVariables.map((name) => ({
    kind: Kind.VARIABLE_DEFINITION,
    variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } },
    type: {
      kind: Kind.NON_NULL_TYPE,
      type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } },
    },
  }));
  const query: OperationDefinitionNode = {
    kind: Kind.OPERATION_DEFINITION,
    operation: 'query' as OperationDefinitionNode['operation'],
    variableDefinitions: [
      ...(operation.variableDefinitions ?? []).filter((definition) =>
        used.has(definition.variable.name.value),
      ),
      ...rowIds,
    ],
    selectionSet: { kind: Kind.SELECTION_SET, selections },
  };
  return {
    kind: Kind.DOCUMENT,
    definitions: [query, ...fragments.filter((fragment) => spread.has(fragment.name.value))],
  };
}

/** The payload objects the mutations of a request returned, by the request's context. */
const payloads = new WeakMap<object, Record<string, unknown>>();
const capturing = new WeakSet<GraphQLSchema>();

/**
 * Keeps what each of `schema`'s mutation fields returns for the request (`payloads`): the
 * payload object holds the ids of the rows read afterwards. Once per schema, at start.
 */
export function capturePayloads(schema: GraphQLSchema): void {
  if (capturing.has(schema)) return;
  capturing.add(schema);
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve;
    if (!resolve) continue;
    field.resolve = async (source, args, context, info) => {
      const result = await resolve(source, args, context, info);
      if (result !== null && typeof result === 'object')
        payloads.set(context, result as Record<string, unknown>);
      return result;
    };
  }
}

/**
 * Runs a one-mutation operation with its payload's rows read by a compiled query (see the top of
 * this file); null when the operation is not one. `execute` is yoga's executor, `read` the
 * compiled path (null when it does not cover the read: `execute` runs it instead).
 */
export function executeWithPayloadRead(
  args: ExecutionArgs,
  ctx: Context,
  execute: (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult>,
  read: (args: ExecutionArgs) => Promise<ExecutionResult> | null,
): Promise<ExecutionResult> | null {
  if (!capturing.has(args.schema)) return null;
  const plan = planOf(args);
  if (!plan) return null;
  return (async () => {
    const result = await execute({ ...args, document: plan.mutation, contextValue: ctx });
    const data = result.data?.[plan.mutationKey] as Record<string, unknown> | null | undefined;
    // An error member of the union, or a failure: the payload's rows were not selected.
    if (!data || plan.fields.every((field) => data[field.key] !== plan.payloadType)) return result;
    const payload = payloads.get(ctx);
    const variables: Record<string, unknown> = { ...args.variableValues };
    for (const field of plan.fields) {
      variables[field.variable] = encodeGlobalID(field.typeName, String(payload?.[field.idProperty]));
    }
    const readArgs: ExecutionArgs = {
      ...args,
      document: plan.read,
      operationName: undefined,
      variableValues: variables,
      contextValue: ctx,
    };
    const rows = await (read(readArgs) ?? execute(readArgs));
    const rowData = rows.data as Record<string, unknown> | null | undefined;
    const errors = [
      ...(result.errors ?? []),
      ...(rows.errors ?? []).map(
        (error) =>
          new GraphQLError(error.message, {
            nodes: error.nodes,
            source: error.source,
            positions: error.positions,
            path: [plan.mutationKey, ...(error.path ?? [])],
            extensions: error.extensions,
            originalError: error.originalError ?? error,
          }),
      ),
    ];
    // A row field is non-null, as are the payload and the mutation's result: a row that could not
    // be read leaves no data, as it would by the resolvers (and the executor then rolls back).
    if (plan.fields.some((field) => rowData?.[field.key] == null)) {
      return {
        data: null,
        errors:
          errors.length > 0
            ? errors
            : // Not the client's doing: useErrorMasking words it as unexpected, and logs it.
              [notReadBack(plan.mutationKey)],
      };
    }
    for (const field of plan.fields) data[field.key] = rowData?.[field.key];
    return errors.length > 0 ? { ...result, errors } : result;
  })();
}

function notReadBack(mutationKey: string): GraphQLError {
  const error = new Error('a written row was not read back');
  return new GraphQLError(error.message, { path: [mutationKey], originalError: error });
}
