import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { StartupError } from '../startup-error.js';

/**
 * GraphiQL without a CDN: its page loads its script, style sheet, icon and editor workers from
 * this server, which serves them from the installed @graphql-yoga/render-graphiql (the bundle
 * yoga's own page loads from unpkg). Under /graphql so that a proxy forwarding only /graphql
 * forwards them too; the package version in the path lets browsers keep them for a year.
 */
const VERSION = installedVersion();
export const GRAPHIQL_ASSETS_PATH = `/graphql/assets/${VERSION ?? 'none'}/`;

/**
 * The package's version, or null where it is not installed: it is a development dependency (its
 * 18 MB would be a seventh of a production install, whose GraphiQL is off unless GRAPHIQL=true).
 */
function installedVersion(): string | null {
  try {
    return createRequire(import.meta.url)('@graphql-yoga/render-graphiql/package.json').version;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
}

const gzip = promisify(gzipCallback);

type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

interface Asset {
  type: string;
  body: (bundle: Bundle) => Buffer;
}

const text = (pick: (bundle: Bundle) => string) => (bundle: Bundle) => Buffer.from(pick(bundle), 'utf8');

const ASSETS: Record<string, Asset> = {
  'graphiql.js': { type: 'text/javascript; charset=utf-8', body: text((b) => b.js) },
  'graphiql.css': { type: 'text/css; charset=utf-8', body: text((b) => b.css) },
  'editor.worker.js': { type: 'text/javascript; charset=utf-8', body: text((b) => b.editorWorkerService) },
  'json.worker.js': { type: 'text/javascript; charset=utf-8', body: text((b) => b.jsonWorker) },
  'graphql.worker.js': { type: 'text/javascript; charset=utf-8', body: text((b) => b.graphqlWorker) },
  // The package holds it as a data: URL.
  'favicon.ico': {
    type: 'image/x-icon',
    body: (b) => Buffer.from(b.favicon.slice(b.favicon.indexOf(',') + 1), 'base64'),
  },
};

/** Monaco asks for a worker by label; these are the three the bundle has. */
const WORKERS = {
  editorWorkerService: `${GRAPHIQL_ASSETS_PATH}editor.worker.js`,
  json: `${GRAPHIQL_ASSETS_PATH}json.worker.js`,
  graphql: `${GRAPHIQL_ASSETS_PATH}graphql.worker.js`,
};

/** `<` escaped: a `</script>` inside an example's text cannot end the script element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replaceAll('<', '\\u003c');

const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * On a reload GraphiQL activates the stored tab whose query and variables are the page's, and adds
 * a tab when none is: without this, an empty "<untitled>" tab on every reload, or a copy of the
 * tab whose query yoga put in the URL (`?query=`), minus its variables. So the page's are those of
 * the tab the browser has open, or of the stored tab with the URL's query; a link with a query
 * no tab has still opens it in a new tab.
 */
const REOPEN_TAB = `try {
  const stored = JSON.parse(localStorage.getItem('graphiql:tabState') ?? 'null');
  const linked = new URL(location.href).searchParams.get('query');
  const tab = linked ? stored?.tabs?.find((t) => t.query === linked) : stored?.tabs?.[stored.activeTabIndex];
  if (tab) Object.assign(options, { query: tab.query ?? undefined, variables: tab.variables ?? undefined });
} catch {}`;

/** Yoga's `renderGraphiQL`: the page itself, a few hundred bytes besides the options. */
export function renderGraphiQLPage(options: GraphiQLOptions): string {
  const title = escapeHtml(options.title ?? 'GraphiQL');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<link rel="icon" href="${GRAPHIQL_ASSETS_PATH}favicon.ico">
<link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}graphiql.css">
</head>
<body id="body" class="no-focus-outline">
<noscript>GraphiQL needs JavaScript.</noscript>
<div id="root">Loading ${title}…</div>
<script>
const workers = ${scriptJson(WORKERS)};
self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_id, label) => workers[label] ?? workers.editorWorkerService };
</script>
<script src="${GRAPHIQL_ASSETS_PATH}graphiql.js"></script>
<script>
const options = ${scriptJson(options)};
${REOPEN_TAB}
YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
</script>
</body>
</html>
`;
}

/** What a Response takes: Node's Buffer is typed over any ArrayBufferLike. */
type Bytes = Uint8Array<ArrayBuffer>;

interface Encoded {
  identity: Bytes;
  /** Made on the first request that accepts gzip, off the event loop. */
  gzip?: Promise<Bytes>;
}

/**
 * Serves GRAPHIQL_ASSETS_PATH without a token (a script tag sends none). The bundle (9 MB of
 * strings) is imported on the first asset request, never by a server whose GraphiQL is off; each
 * asset is encoded once, gzip when the browser takes it (the script is 5 MB, 1.4 MB gzipped).
 */
export function useGraphiQLAssets(): Plugin {
  if (VERSION === null) {
    throw new StartupError(
      'GRAPHIQL is on, but GraphiQL is not installed (a production install, npm ci --omit=dev, leaves it out): ' +
        'set GRAPHIQL=false, or install it beside the server with npm install --no-save @graphql-yoga/render-graphiql@<the version of graphql-yoga>',
    );
  }
  let bundle: Promise<Bundle> | undefined;
  const encoded = new Map<string, Encoded>();
  const load = async (name: string, asset: Asset): Promise<Encoded> => {
    let entry = encoded.get(name);
    if (!entry) {
      bundle ??= import('@graphql-yoga/render-graphiql/graphiql');
      entry = { identity: new Uint8Array(asset.body(await bundle)) };
      encoded.set(name, entry);
    }
    return entry;
  };
  return {
    onRequest({ request, url, endResponse }) {
      if (!url.pathname.startsWith('/graphql/assets/')) return;
      const name = url.pathname.startsWith(GRAPHIQL_ASSETS_PATH)
        ? url.pathname.slice(GRAPHIQL_ASSETS_PATH.length)
        : '';
      const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
      if (!asset || (request.method !== 'GET' && request.method !== 'HEAD')) {
        // An older version's path too: its page is gone, and a year-long cache must not keep this.
        return endResponse(
          new Response('Not found', { status: 404, headers: { 'cache-control': 'no-store' } }),
        );
      }
      const gzipped = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
      return load(name, asset).then(async (entry) => {
        if (gzipped) entry.gzip ??= gzip(entry.identity).then((zipped) => new Uint8Array(zipped));
        const body = gzipped ? await entry.gzip : entry.identity;
        const headers = new Headers({
          'content-type': asset.type,
          'content-length': String(body?.length ?? 0),
          'cache-control': 'public, max-age=31536000, immutable',
          vary: 'Accept-Encoding',
        });
        if (gzipped) headers.set('content-encoding', 'gzip');
        endResponse(new Response(request.method === 'HEAD' ? null : body, { status: 200, headers }));
      });
    },
  };
}
