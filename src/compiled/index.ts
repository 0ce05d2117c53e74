import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  GraphQLError,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  visit,
} from 'graphql';
import { createTextKeyedCache } from '../bounded-cache.js';
import type { Context } from '../context.js';
import type { Role } from '../domain/vocabulary.js';
import type { Logger } from '../logger.js';
import { VARIABLE_COERCION } from '../plugins/limits.js';
import { extractedDataViews } from '../services/audit.js';
import { type BindEnv, type Binding, Gen, type Getter } from './gen.js';
import { buildSkeleton, type Skeleton } from './skeleton.js';
import { SENTINEL_TEXT, Untranslatable } from './sql.js';

/**
 * Counters of the compiled path, for tests and benchmarks (never in a response): `executed`
 * requests answered by one SQL statement, `fallbacks` requests left to the resolvers after the
 * statement ran (a row the SQL cannot render exactly), `skeletons`/`variants` what was compiled.
 */
export const compiledStats = { executed: 0, fallbacks: 0, skeletons: 0, variants: 0 };

interface Variant {
  sql: string;
  getters: Getter[];
}

/**
 * Why a request was left to the resolvers. It never holds a value of the request: `detail` is the
 * compiler's own words, or the code of the error the resolvers will report.
 */
export interface CompiledFallback {
  /**
   * `untranslatable`: the compiler does not cover a field (marked not compiled), a shape or a
   * filter; `arguments`: the resolvers' own checks refuse the arguments, and report it;
   * `variables`: they do not coerce (execution reports it); `row`: the statement met a row it
   * cannot render exactly (the resolvers then answer in the same transaction).
   */
  cause: 'untranslatable' | 'arguments' | 'variables' | 'row';
  /** `Type.field`, when one field is the cause. */
  field?: string;
  detail?: string;
}

/** One debug line per request left to the resolvers: what `executeCompiled`'s `onFallback` may be. */
export function logFallback(logger: Logger, requestId: string): (fallback: CompiledFallback) => void {
  return (fallback) => logger.debug({ requestId, ...fallback }, 'compiled query left to the resolvers');
}

interface OperationEntry {
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** Variables of @skip/@include: their values choose the skeleton. */
  directiveVariables: string[];
  /** A skeleton, or why the operation is not compiled for that role and those values. */
  skeletons: Map<string, Skeleton | CompiledFallback>;
  /** This document's part of the variant cache's keys. */
  id: number;
}

/** Per document (yoga's parse cache hands back the same object for the same text), per operation and role. */
const cache = new WeakMap<DocumentNode, Map<string, OperationEntry | null>>();

const MAX_SKELETONS = 16;

/**
 * The SQL of each variant (a skeleton with its arguments' shapes bound), across documents, by the
 * bytes of its text: clients choose the documents and their arguments, so their number is theirs.
 */
const variants = createTextKeyedCache<Variant>({
  maxBytes: 8 * 1024 * 1024,
  weigh: (key, variant) => 2 * (key.length + variant.sql.length) + 64 * variant.getters.length,
});
let documentCount = 0;

function operationEntry(
  document: DocumentNode,
  operationName: string | null | undefined,
): OperationEntry | null {
  let byOperation = cache.get(document);
  if (!byOperation) {
    byOperation = new Map();
    cache.set(document, byOperation);
  }
  const key = operationName ?? '';
  let entry = byOperation.get(key);
  if (entry === undefined) {
    entry = analyze(document, operationName);
    byOperation.set(key, entry);
  }
  return entry;
}

function analyze(document: DocumentNode, operationName: string | null | undefined): OperationEntry | null {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query') return null;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const directiveVariables = new Set<string>();
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'skip' && node.name.value !== 'include') return;
      for (const argument of node.arguments ?? []) {
        if (argument.value.kind === Kind.VARIABLE) directiveVariables.add(argument.value.name.value);
      }
    },
  });
  documentCount += 1;
  return {
    operation,
    fragments,
    directiveVariables: [...directiveVariables],
    skeletons: new Map(),
    id: documentCount,
  };
}

/**
 * Runs a query operation as one SQL statement when the compiler covers every field it selects;
 * null when it does not, and the resolvers run it instead (`onFallback` hears why, for any query
 * operation). `fallback` runs the resolvers for a request whose statement met a row it cannot
 * render exactly (by default yoga's executor). A mistake of the compiler itself (a TypeError) is
 * thrown, not hidden behind the resolvers.
 */
export function executeCompiled(
  args: ExecutionArgs,
  ctx: Context,
  /** Answers when the statement found a value it cannot render exactly (the resolvers, in practice). */
  fallback: () => ExecutionResult | Promise<ExecutionResult>,
  onFallback?: (fallback: CompiledFallback) => void,
): Promise<ExecutionResult> | null {
  const entry = operationEntry(args.document, args.operationName);
  if (!entry) return null;
  const request = prepare(entry, args, ctx);
  if ('cause' in request) {
    onFallback?.(request);
    return null;
  }
  const { variant, skeleton, bindings, env } = request;
  const params = variant.getters.map((get) => get(bindings, env));
  return run(ctx, variant.sql, params, skeleton.audit, () => {
    onFallback?.({ cause: 'row' });
    return fallback();
  });
}

interface Prepared {
  variant: Variant;
  skeleton: Skeleton;
  bindings: Binding[];
  env: BindEnv;
}

/** The statement of one request: its skeleton, its arguments bound, its SQL text; or why not. */
function prepare(entry: OperationEntry, args: ExecutionArgs, ctx: Context): Prepared | CompiledFallback {
  const role: Role = ctx.viewer.role;
  const coerced = getVariableValues(
    args.schema,
    entry.operation.variableDefinitions ?? [],
    args.variableValues ?? {},
    VARIABLE_COERCION,
  );
  if (coerced.errors) return { cause: 'variables' };
  const variables = coerced.coerced;

  const skeletonKey = `${role}:${entry.directiveVariables.map((name) => String(variables[name])).join(',')}`;
  let skeleton = entry.skeletons.get(skeletonKey);
  if (skeleton === undefined) {
    skeleton = untranslated(() =>
      buildSkeleton(args.schema, entry.fragments, entry.operation.selectionSet, variables, role),
    );
    if (entry.skeletons.size < MAX_SKELETONS) entry.skeletons.set(skeletonKey, skeleton);
    compiledStats.skeletons += 1;
  }
  if ('cause' in skeleton) return skeleton;

  const env: BindEnv = { ctx, now: new Date() };
  const bindings: Binding[] = [];
  for (const site of skeleton.sites) {
    try {
      bindings.push(site.bind(getArgumentValues(site.def, site.node, variables), env));
    } catch (error) {
      // A GraphQLError: the resolvers' own checks (pageWindow, keysetQuery, caseWhere, …) refuse
      // the arguments, and the resolvers report it as they would without the compiler.
      const reason: CompiledFallback =
        error instanceof GraphQLError ? { cause: 'arguments', detail: codeOf(error) } : fallbackOf(error);
      return { ...reason, field: reason.field ?? site.field };
    }
  }
  const variantKey = [entry.id, skeletonKey, ...bindings.map((b) => b.key)].join('\u0001');
  let variant = variants.get(variantKey);
  if (!variant) {
    const emit = skeleton.emit;
    const built = untranslated(() => {
      const g = new Gen(bindings);
      const sql = emit(g);
      return { sql, getters: g.getters };
    });
    if ('cause' in built) return built;
    variant = built;
    variants.set(variantKey, variant);
    compiledStats.variants += 1;
  }
  return { variant, skeleton, bindings, env };
}

/** What `compile` returns, or the fallback its Untranslatable means; anything else is thrown on. */
function untranslated<T extends object>(compile: () => T): T | CompiledFallback {
  try {
    return compile();
  } catch (error) {
    return fallbackOf(error);
  }
}

function fallbackOf(error: unknown): CompiledFallback {
  if (!(error instanceof Untranslatable)) throw error;
  return error.field === undefined
    ? { cause: 'untranslatable', detail: error.message }
    : { cause: 'untranslatable', field: error.field, detail: error.message };
}

function codeOf(error: GraphQLError): string {
  const code = error.extensions.code;
  return typeof code === 'string' ? code : 'GraphQLError';
}

async function run(
  ctx: Context,
  sql: string,
  params: unknown[],
  audit: boolean,
  fallback: () => ExecutionResult | Promise<ExecutionResult>,
): Promise<ExecutionResult> {
  // A named prepared statement: parsed and planned once per connection and variant; the values
  // that decide a plan (page sizes, enum filters) are literals of the text, so its generic plan
  // is the custom plan.
  const [row] = await ctx.sql<{ data: string }>(sql, params, { prepare: true });
  const text = row?.data;
  if (typeof text !== 'string' || text.includes(SENTINEL_TEXT)) {
    compiledStats.fallbacks += 1;
    return fallback();
  }
  compiledStats.executed += 1;
  if (!audit) return withDataText(text);
  // Case.extractedData read by a role that may (case:readExtractedData): each such case object carries `"\u0000<id>"`
  // under `$a` (not a possible response key; no data string starts with U+0000); the ids go to the
  // loader the resolver uses.
  const caseIds: string[] = [];
  const data = JSON.parse(text, (key, value) => {
    if (key !== '$a' || typeof value !== 'string' || value.charCodeAt(0) !== 0) return value;
    caseIds.push(value.slice(1));
    return undefined;
  });
  if (caseIds.length > 0) {
    const results = await extractedDataViews(ctx).loadMany(caseIds);
    const failure = results.find((r) => r instanceof Error);
    if (failure) throw failure;
  }
  return { data };
}

/**
 * A result of the compiled path: yoga writes it with its `stringify` (yoga's result processor
 * calls a result's own), which is the statement's JSON text as it is, `{"data":<text>}`: the same
 * JSON that `JSON.stringify` of the parsed value gives, up to whitespace, without parsing and
 * serializing it again. `data` is parsed only when read (a plugin, a test).
 */
function withDataText(text: string): ExecutionResult & { stringify(value: ExecutionResult): string } {
  let data: ExecutionResult['data'];
  const result = {
    get data() {
      data ??= JSON.parse(text) as ExecutionResult['data'];
      return data;
    },
    // A plugin that replaced the result (a copy with errors or extensions) gets it serialized.
    stringify: (value: ExecutionResult) =>
      value === result && !value.errors && !value.extensions ? `{"data":${text}}` : JSON.stringify(value),
  };
  return result;
}
