import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  valueFromAST,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The abuse limits of API.md ("Abuse limits"); config.ts reads them from MAX_* variables. */
export interface Limits {
  /** Fields on the longest path: `{ me { email } }` is 2. */
  depth: number;
  /** Aliased fields in the operation, fragments counted where they are spread. */
  aliases: number;
  /** Lexical tokens of the document (graphql-js counts them while parsing). */
  tokens: number;
  /** See `measureOperation`. */
  cost: number;
  /** Request body, in bytes. */
  bodyBytes: number;
  /** A document's text (`query`), in UTF-8 bytes. */
  documentBytes: number;
  /** One string literal of a document, in UTF-8 bytes (MAX_TOKENS counts a literal as one token). */
  stringLiteralBytes: number;
}

/**
 * Coercion errors collected from a request's variables before coercion gives up, as graphql-js's
 * own `execute` does: without it, a list of 50,000 wrong values makes 50,000 errors (30 MB, half
 * a second of CPU) on every coercion of the request's variables. Every `getVariableValues` of ours
 * passes it.
 */
export const VARIABLE_COERCION = { maxErrors: 50 } as const;

/** What a connection returns when neither `first` nor `last` is given (API.md, "Lists"). */
export const DEFAULT_PAGE_SIZE = 20;
/**
 * What one JSON value (`extractedData`, `metadata`, `changes`) counts in the cost: it may hold
 * 256 KiB where any other value holds a few dozen bytes. So the cost limit also bounds a
 * response's size, at about 256 bytes a unit: 50,000 is some 12 MB at most, JSON included.
 */
export const JSON_VALUE_COST = 1_024;

/** A list of objects that takes no size argument (`Case.codes`, `Case.matchingRulesets`): a guess. */
export const DEFAULT_LIST_SIZE = 10;

/**
 * A refusal before execution, with the code yoga gives graphql-js's own refusals of the same kind.
 * `spec: true` makes yoga answer 400 under application/graphql-response+json and 200 under
 * application/json, as GraphQL over HTTP says for a document it will not execute.
 */
function limitError(message: string, code = 'GRAPHQL_VALIDATION_FAILED'): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400, spec: true } } });
}

/**
 * Refuses bodies over `maxBytes` with 413 before they are parsed: at once from Content-Length,
 * else (chunked) while yoga's parser reads. Replaces yoga's `maxRequestBodySize`, whose message
 * does not say what the limit is.
 */
export function useBodyLimit(maxBytes: number): Plugin {
  // yoga's own code for it; 413 whatever the media type.
  const tooLarge = () =>
    new GraphQLError(`Request body too large: the limit is ${maxBytes} bytes (MAX_BODY_BYTES)`, {
      extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
    });
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = Number(request.headers.get('content-length') ?? Number.NaN);
      if (length > maxBytes) throw tooLarge();
      if (!requestParser || !request.body || length <= maxBytes) return;
      setRequestParser(async (req) => {
        const body = await readAtMost(req, maxBytes, tooLarge);
        return requestParser(
          new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, body }),
        );
      });
    },
  };
}

/**
 * Reads a body of unknown length, up to `maxBytes`. Past that, the rest is still read and thrown
 * away in the background: a body left half-read would stall the keep-alive connection it came on.
 */
async function readAtMost(
  request: Request,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer<ArrayBuffer>> {
  const reader = (request.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, total);
    total += value.byteLength;
    if (total > maxBytes) {
      void (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
}

/**
 * Refuses a document longer than `maxBytes` before it is parsed, so that it reaches neither the
 * parser nor yoga's parse cache (keyed by the document's text). Runs after authentication.
 */
export function useDocumentSizeLimit(maxBytes: number): Plugin {
  return {
    onParams({ params, setResult }) {
      const { query } = params as { query?: unknown };
      if (typeof query !== 'string' || query.length <= maxBytes / 3) return; // UTF-8: at most 3 bytes a char
      const bytes = Buffer.byteLength(query, 'utf8');
      if (bytes <= maxBytes) return;
      setResult({
        errors: [
          limitError(
            `Document too large: ${bytes} bytes, the limit is ${maxBytes} (MAX_DOCUMENT_BYTES)`,
            'GRAPHQL_PARSE_FAILED',
          ),
        ],
      });
    },
  };
}

/**
 * graphql-js stops parsing at the token limit, so a huge document costs little to refuse. Its
 * message ("Document contains more that N tokens") is replaced by one in the style of the others.
 * A string literal counts as one token whatever its length, so literals have a limit of their own:
 * longer values belong in variables, where each field's own limit applies.
 */
export function useParseLimits(maxTokens: number, maxStringLiteralBytes: number): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) =>
        parseWithinLimits(source, { tokens: maxTokens, stringLiteralBytes: maxStringLiteralBytes }, (text) =>
          parseFn(text, { ...options, maxTokens }),
        ),
      );
    },
  };
}

/**
 * `parse(source)` within MAX_TOKENS and MAX_STRING_LITERAL_BYTES, refused in the pipeline's words:
 * what useParseLimits does to every document, and the trusted documents' check at start
 * (src/trusted-documents.ts) to theirs.
 */
export function parseWithinLimits<S>(
  source: S,
  limits: Pick<Limits, 'tokens' | 'stringLiteralBytes'>,
  parseFn: (source: S) => DocumentNode = (text) => parse(text as string, { maxTokens: limits.tokens }),
): DocumentNode {
  let document: DocumentNode;
  try {
    document = parseFn(source);
  } catch (error) {
    if (error instanceof GraphQLError && / more th(?:an|at) \d+ tokens/.test(error.message)) {
      throw limitError(
        `Too many tokens: more than ${limits.tokens}, the limit is ${limits.tokens} (MAX_TOKENS)`,
        'GRAPHQL_PARSE_FAILED',
      );
    }
    throw error;
  }
  const longest = longestStringLiteral(document);
  if (longest > limits.stringLiteralBytes) {
    throw limitError(
      `String literal too long: ${longest} bytes, the limit is ${limits.stringLiteralBytes} (MAX_STRING_LITERAL_BYTES); pass long values as variables`,
      'GRAPHQL_PARSE_FAILED',
    );
  }
  return document;
}

/** UTF-8 bytes of the document's longest string literal (0 without any). */
function longestStringLiteral(document: DocumentNode): number {
  let longest = 0;
  visit(document, {
    StringValue(node) {
      if (node.value.length > longest / 3) longest = Math.max(longest, Buffer.byteLength(node.value, 'utf8'));
    },
  });
  return longest;
}

const costError = (cost: string, limit: number) =>
  limitError(
    `Query too costly: cost ${cost}, the limit is ${limit} (MAX_QUERY_COST); ask for smaller pages (first/last)`,
  );

/**
 * Depth, aliases and cost, checked just before execution (no database work has started). They
 * are not validation rules because cost depends on the variables (`first: $first`), and yoga
 * caches validation results per document.
 */
export function useOperationLimits(limits: Pick<Limits, 'depth' | 'aliases' | 'cost'>): Plugin {
  // Subscriptions too: the selection is resolved once per delivered change.
  const check = ({ args, setResultAndStopExecution }: LimitedOperation) => {
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) return; // execution reports it
    const coerced = getVariableValues(
      args.schema,
      operation.variableDefinitions ?? [],
      (args.variableValues ?? {}) as Record<string, unknown>,
      VARIABLE_COERCION,
    );
    if (coerced.errors) return; // execution reports them, before any resolver runs
    const size = measureOperation(args.schema, args.document, operation, coerced.coerced, limits.cost);
    const errors: GraphQLError[] = [];
    if (!size.complete) {
      // The walk stopped early: its depth and aliases are only lower bounds; the cost is over.
      errors.push(costError(`over ${limits.cost}`, limits.cost));
    } else {
      if (size.depth > limits.depth) {
        errors.push(
          limitError(`Query too deep: depth ${size.depth}, the limit is ${limits.depth} (MAX_QUERY_DEPTH)`),
        );
      }
      if (size.aliases > limits.aliases) {
        errors.push(
          limitError(`Too many aliases: ${size.aliases}, the limit is ${limits.aliases} (MAX_ALIASES)`),
        );
      }
      if (size.cost > limits.cost) errors.push(costError(`${size.cost}`, limits.cost));
    }
    if (errors.length > 0) setResultAndStopExecution({ errors });
  };
  return { onExecute: check, onSubscribe: check };
}

interface LimitedOperation {
  args: ExecutionArgs;
  setResultAndStopExecution(result: ExecutionResult): void;
}

export interface OperationSize {
  depth: number;
  aliases: number;
  cost: number;
  /** False when the walk stopped early (see `stopAfter`): the numbers are then lower bounds. */
  complete: boolean;
}

/**
 * Measures an operation that has passed validation (so its fragments exist and never cycle).
 *
 * Cost is the number of values the response can hold: every field counts once for each object it
 * can appear in, a JSON field `JSON_VALUE_COST` times. A connection's `first`/`last` (default 20)
 * sizes its `edges`; `limit` and a list argument `ids` size the list they return; any other list
 * of objects counts as 10. A field that can appear zero times (`first: 0`) still counts 1.
 *
 * Fragments spread inside fragments can make a short document expand to a huge walk, so the walk
 * stops after `stopAfter` selections: the operation then counts as over the cost limit. Introspection fields
 * (`__schema`, `__type`) count for aliases only: they have their own switch (GRAPHQL_INTROSPECTION).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  stopAfter = Number.POSITIVE_INFINITY,
): OperationSize {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const size: OperationSize = { depth: 0, aliases: 0, cost: 0, complete: true };
  let visits = 0;

  const typeNamed = (name: string) => schema.getType(name) as GraphQLCompositeType;
  const walk = (
    selectionSet: SelectionSetNode,
    parentType: GraphQLCompositeType,
    depth: number,
    multiplier: number,
    pageSize: number | undefined,
  ): void => {
    for (const selection of selectionSet.selections) {
      if (!size.complete) return;
      // Every selection visited counts against the walk, spreads and `__typename` included: a
      // fragment spread twice in each of 28 nested fragments is 2^28 visits of nothing else.
      visits += 1;
      if (visits > stopAfter) {
        size.complete = false;
        return;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? typeNamed(selection.typeCondition.name.value) : parentType;
        walk(selection.selectionSet, type, depth, multiplier, pageSize);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        if (fragment) {
          walk(
            fragment.selectionSet,
            typeNamed(fragment.typeCondition.name.value),
            depth,
            multiplier,
            pageSize,
          );
        }
        continue;
      }
      if (selection.alias) size.aliases += 1;
      const name = selection.name.value;
      if (name.startsWith('__')) continue;
      size.depth = Math.max(size.depth, depth);
      const field =
        isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[name] : undefined;
      const weight = field && getNamedType(field.type).name === 'JSON' ? JSON_VALUE_COST : 1;
      size.cost += Math.max(multiplier, 1) * weight;
      if (!selection.selectionSet || !field) continue;
      const arg = (argName: string) => argumentValue(field, selection, argName, variables);
      const requested =
        count(arg('first')) ?? count(arg('last')) ?? count(arg('limit')) ?? length(arg('ids'));
      const childType = getNamedType(field.type) as GraphQLCompositeType;
      if (isListType(getNullableType(field.type))) {
        const items = requested ?? pageSize ?? DEFAULT_LIST_SIZE;
        walk(selection.selectionSet, childType, depth + 1, multiplier * items, undefined);
      } else {
        const paged = field.args.some((arg) => arg.name === 'first' || arg.name === 'last');
        walk(
          selection.selectionSet,
          childType,
          depth + 1,
          multiplier,
          paged ? (requested ?? DEFAULT_PAGE_SIZE) : undefined,
        );
      }
    }
  };

  const root = schema.getRootType(operation.operation);
  if (root) walk(operation.selectionSet, root, 1, 1, undefined);
  return size;
}

/** One argument's value, its default when absent; not the others (a mutation's input may be large). */
function argumentValue(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  name: string,
  variables: Record<string, unknown>,
): unknown {
  const definition = field.args.find((arg) => arg.name === name);
  if (!definition) return undefined;
  const given = node.arguments?.find((arg) => arg.name.value === name);
  return given ? valueFromAST(given.value, definition.type, variables) : definition.defaultValue;
}

const count = (value: unknown) => (typeof value === 'number' ? Math.max(0, value) : undefined);
const length = (value: unknown) => (Array.isArray(value) ? value.length : undefined);
