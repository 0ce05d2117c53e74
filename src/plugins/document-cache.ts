import type { DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { createTextKeyedCache, DOCUMENT_BYTES_PER_CHAR } from '../bounded-cache.js';

/** Parsed documents kept, by estimated heap size: a few hundred documents of the usual size. */
const PARSE_CACHE_BYTES = 12 * 1024 * 1024;

/**
 * Yoga's parse and validation caches, bounded by what they hold. Yoga's own keep 1,024 documents
 * of any size and 1,024 parse errors; the validation cache is keyed by the parsed document, so it
 * lives as long as the document does. Here:
 * - parsed documents: by their estimated heap size (`PARSE_CACHE_BYTES`);
 * - parse errors: not kept (a broken document is refused again at the cost of parsing it, which
 *   the document limits bound; a kept error weighs 4.5 KB whatever its document);
 * - a document that fails validation is dropped from the cache (`plugin`), and its validation
 *   errors (up to 100 per document) with it; only valid documents, whose result is empty, stay.
 */
export function createDocumentCaches(): {
  options: {
    documentCache: {
      get(key: string): DocumentNode | undefined;
      set(key: string, value: DocumentNode): void;
    };
    errorCache: { get(key: string): undefined; set(key: string, value: unknown): void };
    validationCache: true;
  };
  plugin: Plugin;
} {
  const documentCache = createTextKeyedCache<DocumentNode>({
    maxBytes: PARSE_CACHE_BYTES,
    weigh: (query) => query.length * DOCUMENT_BYTES_PER_CHAR,
    ttlMs: 3_600_000,
  });
  return {
    options: {
      documentCache,
      errorCache: { get: () => undefined, set: () => {} },
      validationCache: true,
    },
    plugin: {
      onValidate({ context }) {
        const query = (context as { params?: { query?: unknown } }).params?.query;
        return ({ result }) => {
          if (result.length > 0 && typeof query === 'string') documentCache.delete(query);
        };
      },
    },
  };
}
