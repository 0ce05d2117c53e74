import {
  defaultExtractPersistedOperationId,
  usePersistedOperations,
} from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { TrustedDocuments } from '../trusted-documents.js';

export interface TrustedDocumentsOptions {
  /**
   * TRUSTED_DOCUMENTS_ONLY: a document sent as text is refused (PERSISTED_QUERY_ONLY); off, both
   * ids and texts run.
   */
  only: boolean;
}

/**
 * Documents by id, from the manifests (src/trusted-documents.ts), with yoga's persisted operations
 * plugin. An id comes as the GraphQL-over-HTTP persisted documents appendix has it
 * (`documentId: "sha256:<hex>"`, in a JSON body or GET's query string) or as Apollo sends it
 * (`extensions.persistedQuery.sha256Hash`, version 1). Everything is decided from the request's
 * parameters, before the document is parsed: an unknown id, or a text when only trusted
 * documents run, is refused with 400 and its code, and nothing else of the request is done.
 *
 * A known id becomes the document's text, which then goes the way of any text: the document
 * limits, yoga's parse cache (the same text, the same parsed document), validation (cached per
 * parsed document), the compiled or resolver execution. A parsed document per id held here
 * instead would skip a parse only on a cache miss, and hold every manifest's documents at 35-55
 * times their text's size (src/bounded-cache.ts) for the life of the process.
 */
export function useTrustedDocuments(documents: TrustedDocuments, { only }: TrustedDocumentsOptions): Plugin {
  const refusal = (message: string, code: string) => ({
    message,
    extensions: { code, http: { status: 400 } },
  });
  return usePersistedOperations({
    getPersistedOperation: (id) => documents.get(id) ?? null,
    allowArbitraryOperations: !only,
    extractPersistedOperationId: requestedDocumentId,
    customErrors: {
      notFound: refusal(
        'Unknown document id: no trusted document (TRUSTED_DOCUMENTS) has this id. Send the sha256 of one of its documents, as `documentId: "sha256:<hex>"` or `extensions.persistedQuery.sha256Hash`.',
        'PERSISTED_QUERY_NOT_FOUND',
      ),
      persistedQueryOnly: refusal(
        'Only trusted documents run on this server: send the document\'s id (`documentId: "sha256:<hex>"`, or `extensions.persistedQuery.sha256Hash`) instead of its text.',
        'PERSISTED_QUERY_ONLY',
      ),
      keyNotFound: ({ params, request }) => new GraphQLError(...noIdRead(params, request, only)),
    },
  });
}

/**
 * Why no id was read from a request that needed one, as specifically as the request allows: an
 * Apollo `persistedQuery` of another shape, a form body (whose parser keeps only the four
 * standard parameters), or nothing at all.
 */
function noIdRead(
  params: { extensions?: Record<string, unknown> | null },
  request: Request,
  only: boolean,
): [string, { extensions: { code: string; http: { status: number } } }] {
  const badRequest = { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } };
  if (params.extensions?.persistedQuery !== undefined) {
    return [
      '`extensions.persistedQuery` must be `{ "version": 1, "sha256Hash": "<hex>" }`: no other version or form is read.',
      badRequest,
    ];
  }
  const form =
    request.method === 'POST' &&
    /^application\/x-www-form-urlencoded\b/i.test(request.headers.get('content-type') ?? '');
  if (form) {
    return [
      'No document id was read: a form-encoded body carries only query, variables, operationName and extensions. Send `documentId: "sha256:<hex>"` in a JSON body or a GET query string, or `extensions.persistedQuery`.',
      badRequest,
    ];
  }
  return [
    only
      ? 'Must provide a document id: `documentId: "sha256:<hex>"`, or `extensions.persistedQuery.sha256Hash`.'
      : 'Must provide a query string, or a document id (`documentId: "sha256:<hex>"`, or `extensions.persistedQuery.sha256Hash`).',
    badRequest,
  ];
}

/**
 * The id a request names, as the manifests key it (lower-case hex), or null when it names none.
 * A `documentId` without the `sha256:` prefix, or that is not a string, names no document of
 * ours: '' is looked up, and not found.
 */
export function requestedDocumentId(
  params: { extensions?: Record<string, unknown> | null; documentId?: unknown },
  request?: Request,
): string | null {
  // Yoga's GET and form parsers keep only the four standard parameters: the URL has the rest.
  const documentId =
    'documentId' in params
      ? params.documentId
      : request?.method === 'GET'
        ? new URL(request.url).searchParams.get('documentId')
        : null;
  if (documentId != null) {
    return typeof documentId === 'string' && documentId.startsWith('sha256:')
      ? documentId.slice('sha256:'.length).toLowerCase()
      : '';
  }
  // Apollo's form; the function reads only `extensions`.
  return (
    defaultExtractPersistedOperationId(params as GraphQLParams, request as Request, {})?.toLowerCase() ?? null
  );
}
