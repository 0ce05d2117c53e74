import type { Plugin } from 'graphql-yoga';

/**
 * `GET /`: a short page that says where the API is, rather than an empty 404 (HTML for a browser,
 * plain text for curl and the rest). In every environment: it tells nothing /graphql does not.
 */
export function useRootPage(options: { graphiql: boolean }): Plugin {
  const lines = [
    'Prior-auth API: GraphQL at /graphql',
    options.graphiql
      ? 'Open /graphql in a browser for GraphiQL; clients POST to /graphql with an Authorization: Bearer token.'
      : 'Clients POST to /graphql with an Authorization: Bearer token.',
    'Health: /healthz (the process), /readyz (the database).',
  ];
  const text = `${lines.join('\n')}\n`;
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Prior-auth API</title></head>
<body>
<h1>Prior-auth API</h1>
<p>GraphQL at <a href="/graphql">/graphql</a>.</p>
<p>${
    options.graphiql
      ? 'Open <a href="/graphql">/graphql</a> in this browser for GraphiQL; clients'
      : 'Clients'
  } POST to <code>/graphql</code> with an <code>Authorization: Bearer</code> token.</p>
<p>Health: <a href="/healthz">/healthz</a> (the process), <a href="/readyz">/readyz</a> (the database).</p>
</body>
</html>
`;
  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname !== '/' || (request.method !== 'GET' && request.method !== 'HEAD')) return;
      const wantsHtml = request.headers.get('accept')?.includes('text/html') ?? false;
      const body = wantsHtml ? html : text;
      const headers = {
        'content-type': wantsHtml ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        vary: 'Accept',
      };
      endResponse(new Response(request.method === 'HEAD' ? null : body, { status: 200, headers }));
    },
  };
}
