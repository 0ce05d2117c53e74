import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type DocumentNode,
  type GraphQLSchema,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  specifiedRules,
  validate,
} from 'graphql';
import type { Config } from './config.js';
import { measureOperation, parseWithinLimits } from './plugins/limits.js';
import { StartupError } from './startup-error.js';

/**
 * The documents of the manifests TRUSTED_DOCUMENTS names (docs/operations.md, "Trusted
 * documents"), by id: the sha256 of the document's text, in lower-case hex, as `npm run codegen`
 * (the client preset's `persistedDocuments: { hashAlgorithm: 'sha256' }`) writes them. Every one
 * was parsed and validated against the schema and the server's limits at start.
 */
export interface TrustedDocuments {
  /** The document's text; undefined for an id of no manifest. A Map lookup: every request by id makes one. */
  get(id: string): string | undefined;
  /** Documents held, across the manifests (a document in two manifests counts once). */
  readonly size: number;
  /** The manifests' paths, as TRUSTED_DOCUMENTS gave them. */
  readonly paths: readonly string[];
  /** Every document's text (the metrics' known operation names come from them). */
  texts(): Iterable<string>;
}

/** A manifest that cannot be used: unreadable, not a manifest, or a document that no longer validates. */
export class TrustedDocumentsError extends StartupError {
  override name = 'TrustedDocumentsError';

  constructor(readonly problems: readonly string[]) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
    const more = problems.length - shown.length;
    super(
      `Trusted documents (TRUSTED_DOCUMENTS) cannot be used: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    );
  }
}

/** A schema change can break many operations at once: the start's one line names the first ones. */
const MAX_PROBLEMS_SHOWN = 10;

const SHA256_HEX = /^[0-9a-f]{64}$/;

type CheckOptions = Pick<Config, 'limits' | 'introspection'>;

/**
 * The manifests of `config.trustedDocuments.paths`, read and checked; undefined when none is named.
 * Each document must parse within the document limits (MAX_DOCUMENT_BYTES, MAX_TOKENS,
 * MAX_STRING_LITERAL_BYTES), validate against `schema` as requests are validated (introspection
 * refused when GRAPHQL_INTROSPECTION is off), and stay within MAX_QUERY_DEPTH and MAX_ALIASES,
 * which do not depend on variables (the cost does: it is checked per request, as for any
 * document). Any problem of any manifest throws a TrustedDocumentsError naming each file and
 * operation: a client's operation that would fail on every request fails the start instead.
 */
export function loadTrustedDocuments(
  config: Pick<Config, 'trustedDocuments'> & CheckOptions,
  schema: GraphQLSchema,
): TrustedDocuments | undefined {
  const { paths } = config.trustedDocuments;
  if (paths.length === 0) return undefined;
  const byId = new Map<string, string>();
  const problems: string[] = [];
  for (const path of paths) {
    const entries = readManifest(path, problems);
    for (const [key, text] of entries) {
      const id = key.startsWith('sha256:') ? key.slice('sha256:'.length) : key;
      const named = `${path}: document sha256:${id.slice(0, 12)}…`;
      if (!SHA256_HEX.test(id)) {
        problems.push(`${named}: its id is not a sha256 in lower-case hex (hashAlgorithm: 'sha256')`);
        continue;
      }
      if (byId.has(id)) continue; // the same text (same sha256) in another manifest: checked there
      if (sha256(text) !== id) {
        problems.push(`${named}: its id is not the sha256 of its text (an edited manifest?)`);
        continue;
      }
      const problem = checkDocument(text, schema, config);
      if (problem) problems.push(`${path}: ${problem}`);
      else byId.set(id, text);
    }
  }
  if (problems.length > 0) throw new TrustedDocumentsError(problems);
  return { get: (id) => byId.get(id), size: byId.size, paths, texts: () => byId.values() };
}

/** The manifest's entries: a JSON object of ids to document texts. */
function readManifest(path: string, problems: string[]): [string, string][] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    problems.push(`${path}: cannot be read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`);
    return [];
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(content);
  } catch {
    problems.push(`${path}: is not JSON`);
    return [];
  }
  const entries =
    manifest !== null && typeof manifest === 'object' && !Array.isArray(manifest)
      ? Object.entries(manifest)
      : undefined;
  if (!entries?.every((entry): entry is [string, string] => typeof entry[1] === 'string')) {
    problems.push(
      `${path}: is not a manifest: expected a JSON object of sha256 ids to document texts (the client preset's persisted-documents.json)`,
    );
    return [];
  }
  if (entries.length === 0) problems.push(`${path}: holds no documents`);
  return entries;
}

/** What keeps the document from running on every request, naming its operations; undefined: none. */
function checkDocument(text: string, schema: GraphQLSchema, options: CheckOptions): string | undefined {
  const { limits } = options;
  const id = `sha256:${sha256(text).slice(0, 12)}…`;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.documentBytes) {
    return `document ${id}: ${bytes} bytes, the limit is ${limits.documentBytes} (MAX_DOCUMENT_BYTES)`;
  }
  let document: DocumentNode;
  try {
    document = parseWithinLimits(text, limits);
  } catch (error) {
    return `document ${id} does not parse: ${(error as Error).message}`;
  }
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  const named = operations.map((operation) => `"${operation.name?.value ?? '(anonymous)'}"`).join(', ');
  if (operations.length === 0) return `document ${id} holds no operation`;
  const rules = options.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
  const [error, ...others] = validate(schema, document, rules);
  if (error) {
    const more = others.length > 0 ? ` (and ${others.length} more)` : '';
    return `operation ${named} (${id}) no longer validates against the schema: ${error.message}${more}`;
  }
  for (const operation of operations) {
    // Depth and aliases are the document's own; `{}` leaves every page size at its default.
    const size = measureOperation(schema, document, operation, {});
    const name = `operation "${operation.name?.value ?? '(anonymous)'}" (${id})`;
    if (size.depth > limits.depth) {
      return `${name}: depth ${size.depth}, the limit is ${limits.depth} (MAX_QUERY_DEPTH)`;
    }
    if (size.aliases > limits.aliases) {
      return `${name}: ${size.aliases} aliases, the limit is ${limits.aliases} (MAX_ALIASES)`;
    }
  }
  return undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
