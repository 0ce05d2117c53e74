import type { Plugin } from 'graphql-yoga';

const ALLOWED_METHODS = 'GET, POST';
const ALLOWED_HEADERS = 'authorization, content-type, x-request-id';
const EXPOSED_HEADERS = 'x-request-id, retry-after';
const PREFLIGHT_MAX_AGE_S = '600';

/**
 * CORS for the browser origins of CORS_ORIGINS, and for nothing else: an origin is allowed only
 * when it is one of them exactly, and then only for itself. Any other origin, `null` included
 * (sandboxed frames, files), gets no CORS header at all; credentials are never allowed (the API
 * takes bearer tokens, not cookies). Yoga's own CORS (off here) answers an unlisted origin with
 * `Access-Control-Allow-Origin: null` when two or more are listed, which lets every `null` origin
 * in, and with one listed names it to everyone.
 */
export function useCors(origins: readonly string[]): Plugin {
  const allowed = new Set(origins);
  const allowedOrigin = (request: Request) => {
    const origin = request.headers.get('origin');
    return origin !== null && allowed.has(origin) ? origin : undefined;
  };
  return {
    onRequest({ request, endResponse }) {
      if (request.method !== 'OPTIONS' || !request.headers.has('access-control-request-method')) return;
      const origin = allowedOrigin(request);
      const headers = new Headers({ vary: 'Origin', 'content-length': '0' });
      if (origin) {
        headers.set('access-control-allow-origin', origin);
        headers.set('access-control-allow-methods', ALLOWED_METHODS);
        headers.set('access-control-allow-headers', ALLOWED_HEADERS);
        headers.set('access-control-max-age', PREFLIGHT_MAX_AGE_S);
      }
      endResponse(new Response(null, { status: 204, headers }));
    },
    onResponse({ request, response }) {
      // The answer depends on Origin: a shared cache must not hand one origin's to another.
      response.headers.append('vary', 'Origin');
      const origin = allowedOrigin(request);
      if (!origin) return;
      response.headers.set('access-control-allow-origin', origin);
      response.headers.set('access-control-expose-headers', EXPOSED_HEADERS);
    },
  };
}
