// Preloaded (`node --import ./tests/helpers/refuse-tracing-modules.mjs`) by tests/integration/
// tracing.test.ts: every import or require of OpenTelemetry's SDK and exporters, or of Prisma's
// instrumentation, fails. A server that starts and answers under it never loaded any of them.
// `@opentelemetry/api` alone stays loadable: prom-client (src/plugins/metrics.ts) imports it, and
// without an SDK registered it is a facade whose every call does nothing.
import Module, { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const REFUSED = /^(@opentelemetry\/(?!api(\/|$))|@prisma\/instrumentation)/;
const refused = (specifier) => new Error(`refused by refuse-tracing-modules.mjs: ${specifier}`);

/** The ESM loader's resolve hook (it runs in the loader's own thread). */
export async function resolve(specifier, context, nextResolve) {
  if (REFUSED.test(specifier)) throw refused(specifier);
  return nextResolve(specifier, context);
}

if (isMainThread) {
  register(import.meta.url);
  // CommonJS: require() does not pass the ESM loader's hooks on Node 20.
  const load = Module._load;
  Module._load = function loadUnlessRefused(request, ...rest) {
    if (REFUSED.test(request)) throw refused(request);
    return load.call(this, request, ...rest);
  };
}
