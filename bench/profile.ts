import { readFileSync } from 'node:fs';

/** The parts of a V8 .cpuprofile (node --cpu-prof) this reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds of the monotonic clock (process.hrtime's, in µs): the samples' times add the deltas to it. */
  startTime: number;
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time not idle: where the server's CPU went. */
  busyMs: number;
  byFunction: ProfileEntry[];
  byPackage: ProfileEntry[];
  /** Inclusive time of the frames that mark a request's phases (a frame counted once per sample). */
  byPhase: ProfileEntry[];
}

/** node_modules/<package> (scoped too), node: internals, wasm, or our own dist/src. */
function packageOf(url: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node: (core)';
  if (url.startsWith('wasm://')) return 'wasm (Prisma query compiler)';
  const match = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/g);
  const last = match?.at(-1);
  if (last) return last.replace('node_modules/', '');
  if (/\/(dist|src)\//.test(url)) return 'our server (dist/)';
  return url;
}

function shortUrl(url: string): string {
  const match = url.match(/node_modules\/(.*)$/);
  if (match?.[1]) return match[1];
  return url.replace(/^file:\/\/.*\/(dist|src)\//, '$1/');
}

/**
 * Parts of a request, by the frames they run in: a sample counts for a part when such a frame is on
 * its stack. After an `await` the stack starts again at the microtask queue, so these are lower
 * bounds, and GraphQL execution (almost all continuations) is not among them.
 */
const PHASES: { name: string; url: RegExp; fn: RegExp }[] = [
  {
    name: 'Prisma client: query planning, the transaction, result mapping',
    url: /@prisma\/client\//,
    fn: /./,
  },
  {
    name: 'Prisma result mapping (rows to objects)',
    url: /@prisma\/client\//,
    fn: /^(mapQueryEngineResult|unpack)$/,
  },
  {
    name: 'Pothos selection mapping (queryFromInfo, loader mapping)',
    url: /@pothos\/(selection-mapper|plugin-prisma)\//,
    fn: /./,
  },
  { name: 'pg: sending statements (socket writes)', url: /pg\/lib\/query\.js/, fn: /^submit$/ },
  { name: 'pg: reading results (pg-protocol)', url: /pg-protocol\//, fn: /./ },
  { name: 'JWT verification (jose, WebCrypto HMAC)', url: /jose\//, fn: /./ },
  { name: 'GraphQL parse and validate', url: /\/graphql\/(language|validation)\//, fn: /./ },
  {
    name: 'response JSON.stringify (yoga)',
    url: /graphql-yoga\//,
    fn: /^jsonStringifyResultWithoutInternals$/,
  },
  { name: 'node:http request and response', url: /^node:_http_/, fn: /./ },
  { name: 'garbage collection', url: /^$/, fn: /^\(garbage collector\)$/ },
];

const top = (map: Map<string, number>, total: number, n: number): ProfileEntry[] =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, selfMs]) => ({ name, selfMs, share: total > 0 ? selfMs / total : 0 }));

/**
 * Self time per function and per package, from the samples' time deltas; with `window` (µs of
 * process.hrtime's clock, which V8's sample times share), only the samples taken within it.
 */
export function summarizeProfile(
  file: string,
  n = 25,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byPhase = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const ms = us / 1000;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') {
      idleMs += functionName === '(idle)' ? ms : 0;
      if (functionName === '(idle)') continue;
    }
    const name = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    const pkg = functionName === '(garbage collector)' ? '(garbage collector)' : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
    // Inclusive part time: walk up the stack, count each part once for this sample.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame) break;
      for (const phase of PHASES) {
        if (!seen.has(phase.name) && phase.url.test(frame.url) && phase.fn.test(frame.functionName)) {
          seen.add(phase.name);
          byPhase.set(phase.name, (byPhase.get(phase.name) ?? 0) + ms);
        }
      }
    }
  }
  const busyMs = totalMs - idleMs;
  return {
    totalMs,
    busyMs,
    byFunction: top(byFunction, busyMs, n),
    byPackage: top(byPackage, busyMs, n),
    byPhase: top(byPhase, busyMs, PHASES.length),
  };
}
