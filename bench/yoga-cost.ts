/**
 * What yoga itself costs per request on this machine: the same `{ hello }` answered by node:http
 * and by yoga configured several ways, no database, each server in its own process, its CPU read
 * from /proc around a closed-loop autocannon run (docs/benchmarks.md, "One pipeline").
 *
 *   npx tsx bench/yoga-cost.ts [--duration 8] [--rounds 2]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createSchema, createYoga, type YogaServerOptions } from 'graphql-yoga';
import { runLoad } from './load.js';

const BODY = JSON.stringify({ query: '{ hello }' });
const ANSWER = JSON.stringify({ data: { hello: 'world' } });

type Variant =
  | 'node-http'
  | 'yoga-defaults'
  | 'yoga-no-body-limit'
  | 'yoga-lean'
  | 'yoga-lean-native-fetch'
  | 'yoga-lean-async-local-storage';

const VARIANTS: Record<Variant, string> = {
  'node-http': 'node:http writing the same bytes (the floor)',
  'yoga-defaults': 'yoga, default options',
  'yoga-no-body-limit': 'yoga, `maxRequestBodySize: false`',
  'yoga-lean': 'yoga, no body limit, no landing page, GraphiQL, CORS, batching or logging',
  'yoga-lean-native-fetch': 'the same on Node’s own fetch classes (undici) instead of whatwg-node’s',
  'yoga-lean-async-local-storage':
    'yoga lean, in a process where an AsyncLocalStorage is in use (as the server’s statement counter and request connection are)',
};

function yogaOptions(variant: Variant): YogaServerOptions<object, object> {
  const schema = createSchema({
    typeDefs: 'type Query { hello: String }',
    resolvers: { Query: { hello: () => 'world' } },
  });
  if (variant === 'yoga-defaults') return { schema };
  if (variant === 'yoga-no-body-limit') return { schema, maxRequestBodySize: false };
  const lean: YogaServerOptions<object, object> = {
    schema,
    maxRequestBodySize: false,
    landingPage: false,
    graphiql: false,
    cors: false,
    batching: false,
    logging: false,
  };
  if (variant === 'yoga-lean') return lean;
  if (variant === 'yoga-lean-async-local-storage') {
    // On Node 20 a used AsyncLocalStorage installs promise hooks: every promise costs more.
    new AsyncLocalStorage().enterWith({});
    return lean;
  }
  return { ...lean, fetchAPI: { Request, Response, Headers, ReadableStream, TextEncoder, TextDecoder, URL } };
}

function serve(variant: Variant): void {
  const listener =
    variant === 'node-http'
      ? (_req: unknown, res: import('node:http').ServerResponse) => {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.end(ANSWER);
        }
      : createYoga(yogaOptions(variant));
  const http = createServer(listener as never);
  http.listen(0, '127.0.0.1', () => {
    const address = http.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  });
}

function start(variant: Variant): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', variant], {
    env: { ...process.env, NODE_ENV: 'production' },
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => {
      const { port } = message as { port: number };
      resolve({ child, url: `http://127.0.0.1:${port}/graphql` });
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '2' },
    },
  });
  if (values.serve) return serve(values.serve as Variant);
  const rounds = Number(values.rounds);
  const results = new Map<Variant, { cpu: number[]; rps: number[] }>();
  for (let round = 0; round < rounds; round++) {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const { child, url } = await start(variant);
      const load = await runLoad({
        url,
        pid: child.pid as number,
        requests: [
          { method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json' }, body: BODY },
        ],
        connections: 16,
        durationS: Number(values.duration),
        warmupS: 3,
      });
      child.kill();
      const entry = results.get(variant) ?? { cpu: [], rps: [] };
      entry.cpu.push(load.serverCpuMsPerRequest ?? Number.NaN);
      entry.rps.push(load.rps);
      results.set(variant, entry);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log('| server | req/s | server CPU ms/req |\n|---|---|---|');
  for (const [variant, { cpu, rps }] of results) {
    console.log(`| ${VARIANTS[variant]} | ${Math.round(median(rps))} | ${median(cpu).toFixed(3)} |`);
  }
}

await main();
