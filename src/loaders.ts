import type { Context } from './context.js';

export interface PerRequest<T> {
  (ctx: Context): T;
  /** Drops this request's value, e.g. after a write made what it loaded stale. */
  forget(ctx: Context): void;
}

/**
 * The one way this API batches reads: a DataLoader (or a group of them) made once per request on
 * first use, from that request's context, kept in `ctx.loaders` and so gone with the request.
 */
export function perRequest<T>(create: (ctx: Context) => T): PerRequest<T> {
  const get = ((ctx: Context) => {
    let value = ctx.loaders.get(get) as T | undefined;
    if (value === undefined) {
      value = create(ctx);
      ctx.loaders.set(get, value);
    }
    return value;
  }) as PerRequest<T>;
  get.forget = (ctx) => {
    ctx.loaders.delete(get);
  };
  return get;
}
