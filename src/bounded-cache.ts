import { LRUCache } from 'lru-cache';

/**
 * A cache keyed by text a client wrote (a document, a token, SQL built from a document), bounded
 * by the memory its entries take rather than by their number: a thousand entries of a few bytes
 * are nothing, a thousand of 900 KB each end the process (issue 10: 54 requests). Least recently
 * used entries go first; an entry heavier than `maxEntryBytes` is not kept at all.
 */
export interface TextKeyedCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  has(key: string): boolean;
  delete(key: string): void;
  /** Estimated bytes held, for tests and benchmarks. */
  readonly bytes: number;
  readonly size: number;
}

export interface TextKeyedCacheOptions<V> {
  maxBytes: number;
  /** Default: an eighth of `maxBytes`, so one entry can never crowd out the rest. */
  maxEntryBytes?: number;
  /**
   * Estimated heap bytes of an entry. Default: the key's UTF-16 size. A parsed document takes
   * far more than its text (see `DOCUMENT_BYTES_PER_CHAR`).
   */
  weigh?: (key: string, value: V) => number;
  /** Entries older than this are dropped (yoga's own parse cache keeps documents an hour). */
  ttlMs?: number;
}

/**
 * Heap bytes per character of a parsed GraphQL document, measured: graphql-js keeps every token
 * (for locations), so an AST takes 35-55 times its text (CaseList: 1,003 chars, 35.6 KB; Me: 172
 * chars, 9.2 KB), and a long string literal about its own size. The larger ratio bounds both.
 */
export const DOCUMENT_BYTES_PER_CHAR = 56;

export function createTextKeyedCache<V extends NonNullable<unknown>>(
  options: TextKeyedCacheOptions<V>,
): TextKeyedCache<V> {
  const weigh = options.weigh ?? ((key: string) => 2 * key.length);
  const maxEntryBytes = options.maxEntryBytes ?? Math.floor(options.maxBytes / 8);
  const cache = new LRUCache<string, V>({
    maxSize: options.maxBytes,
    maxEntrySize: maxEntryBytes,
    // lru-cache wants a positive integer.
    sizeCalculation: (value, key) => Math.max(1, Math.ceil(weigh(key, value))),
    ...(options.ttlMs ? { ttl: options.ttlMs } : {}),
  });
  return {
    get: (key) => cache.get(key),
    set: (key, value) => {
      // Too heavy: not kept (lru-cache would refuse it too, after evicting nothing; this skips
      // the work of weighing twice and says why in one place).
      if (weigh(key, value) > maxEntryBytes) return;
      cache.set(key, value);
    },
    has: (key) => cache.has(key),
    delete: (key) => {
      cache.delete(key);
    },
    get bytes() {
      return cache.calculatedSize;
    },
    get size() {
      return cache.size;
    },
  };
}
