// npx tsx bench/peer.ts [--dir DIR] [--setup] [-- run.mjs options]
//
// Runs the peer harness (../shared/peer-bench, a measuring tool kept beside the project, never
// copied into it) with this server as the target `ours`. The harness folder is read-only, so it
// is copied to DIR (default: a folder in the system's temp directory, outside the repository),
// where this script adds the target and makes the two adaptations our API needs:
//   1. Q2 and M1 name a case by global ID (`case(id: ID!)`, `CreateTaskInput.caseId: ID!`); the
//      harness sends row UUIDs. The target's "globalIds" turns `$caseId` into the global ID
//      (base64 of `Case:<uuid>`) when the request is built, before any load.
//   2. Lists are Relay connections. The harness reads plain lists or `{ nodes }`; it also unwraps
//      `{ edges: [{ node }] }` here, for its checks only.
// Nothing else of the harness changes: the same load, metrics, tokens and contexts for every
// target. Our server runs on the bench's own database (npm run bench -- --prepare-only), whose
// rows carry the harness's ids, so the harness's tokens and ground-truth checks apply to it.
//
// --setup runs the harness's setup with --no-pgss (it recreates only its database "bench"; it
// would restart the shared PostgreSQL to preload pg_stat_statements otherwise).
// --operations runs ours with trusted documents (only), metrics and tracing on, as
// `npm run bench -- --operations` does (bench/operations.ts): the target sends `documentId`
// (a third adaptation of lib/targets.mjs), /metrics is scraped every 5 s, traces sampled at 10%
// go to a receiver in this process.
// Everything after `--` goes to run.mjs, e.g.
//   npx tsx bench/peer.ts --setup -- --targets ours,postgraphile,postgraphile5,floor --allow-failed-verify
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SCALE } from './data.js';
import { openBenchDatabase, prepareBenchDatabase } from './db.js';
import { operationsEnv, scrapeMetrics, traceSink, writeManifest } from './operations.js';
import { BENCH_JWT, BENCH_MEMBER_ID_HASH_KEY, PEER_SHAPES, SERVER_ENV, SERVER_NODE_FLAGS } from './shapes.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const HARNESS = path.resolve(process.env.PEER_BENCH_DIR ?? path.join(ROOT, '../shared/peer-bench'));
const PORT = 4110;

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const own = split >= 0 ? argv.slice(0, split) : argv;
const runArgs = split >= 0 ? argv.slice(split + 1) : [];
const dirFlag = own.indexOf('--dir');
const dir = path.resolve(dirFlag >= 0 ? (own[dirFlag + 1] ?? '') : path.join(os.tmpdir(), 'peer-bench-ours'));
if (dir.startsWith(`${ROOT}${path.sep}`))
  throw new Error('the harness copy must live outside the repository');

/** Replaces `anchor` once in a harness file of the copy; fails loudly when the harness changed. */
function patch(file: string, anchor: string, replacement: string): void {
  const full = path.join(dir, file);
  const text = readFileSync(full, 'utf8');
  if (text.includes(replacement)) return;
  if (!text.includes(anchor)) throw new Error(`${file}: "${anchor}" not found; the harness changed`);
  writeFileSync(full, text.replace(anchor, replacement));
}

function log(line: string): void {
  console.log(`[peer] ${line}`);
}

if (!existsSync(path.join(HARNESS, 'run.mjs')))
  throw new Error(`no peer harness at ${HARNESS} (PEER_BENCH_DIR)`);
mkdirSync(dir, { recursive: true });
log(`copying ${HARNESS} to ${dir}`);
cpSync(HARNESS, dir, {
  recursive: true,
  filter: (src) => !src.includes(`${path.sep}results${path.sep}`) && !src.includes(`${path.sep}node_modules`),
});

// The target: our production build, on the bench database, as the bench's runtime login.
const db = await openBenchDatabase(DEFAULT_SCALE, log);
await prepareBenchDatabase(db, DEFAULT_SCALE, { log });
await db.stop();
if (!existsSync(path.join(ROOT, 'dist/index.js'))) throw new Error('no dist/index.js: run npm run build');
const operations = own.includes('--operations');
const manifestFile = path.join(dir, 'ours-manifest.json');
if (operations) writeManifest(PEER_SHAPES, manifestFile);
const sink = operations && runArgs.length > 0 ? await traceSink() : null;
const operationsConfig = sink ? operationsEnv(manifestFile, sink.url) : {};
const target = {
  description: 'Our API: graphql-yoga + Pothos + Prisma 7 (node dist/index.js, NODE_ENV=production)',
  url: `http://127.0.0.1:${PORT}/graphql`,
  headers: { authorization: 'Bearer {{token}}' },
  jwtSub: 'authId',
  dbRole: 'prior_auth_bench_runtime',
  globalIds: { caseId: 'Case' },
  start: {
    command: ['node', ...SERVER_NODE_FLAGS, path.join(ROOT, 'dist/index.js')],
    env: {
      ...SERVER_ENV,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      DATABASE_URL: db.runtimeUrl,
      DB_POOL_MAX: '10',
      JWT_SECRET: BENCH_JWT.secret,
      JWT_ISSUER: BENCH_JWT.issuer,
      JWT_AUDIENCE: BENCH_JWT.audience,
      MEMBER_ID_HASH_KEY: BENCH_MEMBER_ID_HASH_KEY,
      ...operationsConfig,
    },
  },
  documentIds: sink !== null,
};
writeFileSync(path.join(dir, 'targets/ours.json'), `${JSON.stringify(target, null, 2)}\n`);
mkdirSync(path.join(dir, 'queries/ours'), { recursive: true });
for (const shape of PEER_SHAPES) {
  cpSync(path.join(ROOT, `bench/queries/${shape}.graphql`), path.join(dir, `queries/ours/${shape}.graphql`));
}

patch(
  'lib/targets.mjs',
  '    dbRole: def.dbRole || APP_ROLE,\n',
  '    dbRole: def.dbRole || APP_ROLE,\n    globalIds: def.globalIds || {}, // bench/peer.ts: variables sent as global IDs\n',
);
patch(
  'lib/targets.mjs',
  '  for (const k of q.declared) if (k in vars) sent[k] = vars[k];\n',
  '  for (const k of q.declared) if (k in vars) sent[k] = vars[k];\n' +
    "  for (const [k, type] of Object.entries(target.globalIds || {})) if (typeof sent[k] === 'string') sent[k] = Buffer.from(type + ':' + sent[k]).toString('base64'); // bench/peer.ts\n",
);
patch(
  'lib/targets.mjs',
  "    if (keys.length === 1 && keys[0] === 'nodes' && Array.isArray(v.nodes)) return v.nodes.map(unwrapNodes);\n",
  "    if (keys.length === 1 && keys[0] === 'nodes' && Array.isArray(v.nodes)) return v.nodes.map(unwrapNodes);\n" +
    "    if (keys.length === 1 && keys[0] === 'edges' && Array.isArray(v.edges)) return v.edges.map((e) => unwrapNodes(e?.node)); // bench/peer.ts\n",
);
patch(
  'lib/targets.mjs',
  '  const body = JSON.stringify({ query: q.text, operationName: q.operationName, variables: sent });\n',
  '  const body = JSON.stringify(target.documentIds' +
    " ? { documentId: 'sha256:' + process.getBuiltinModule('node:crypto').createHash('sha256').update(q.text).digest('hex'), operationName: q.operationName, variables: sent }" +
    ' : { query: q.text, operationName: q.operationName, variables: sent }); // bench/peer.ts --operations\n',
);
patch(
  'lib/targets.mjs',
  '    globalIds: def.globalIds || {}, // bench/peer.ts: variables sent as global IDs\n',
  '    globalIds: def.globalIds || {}, // bench/peer.ts: variables sent as global IDs\n    documentIds: def.documentIds || false, // bench/peer.ts --operations\n',
);
log('target ours added (targets/ours.json, queries/ours/), lib/targets.mjs adapted');

const runNow = (args: string[]) => execFileSync('node', args, { cwd: dir, stdio: 'inherit' });
// While the harness runs, this process receives traces and scrapes /metrics: not blocked by it.
const runBeside = (args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn('node', args, { cwd: dir, stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`run.mjs exited with ${code}`))));
  });
if (own.includes('--setup')) runNow(['setup.mjs', '--no-pgss']);
if (runArgs.length > 0) {
  const scraper = operations ? scrapeMetrics(target.url) : null;
  try {
    await runBeside(['run.mjs', ...runArgs]);
  } finally {
    scraper?.stop();
    sink?.server.close();
  }
  if (scraper && sink)
    log(
      `operations: ${scraper.stats.count} scrapes of /metrics (${scraper.stats.failed} failed), ` +
        `${sink.stats.exports} trace exports (${sink.stats.bytes} bytes)`,
    );
  const results = readdirSync(path.join(dir, 'results'))
    .filter((f) => f.startsWith('run-') && f.endsWith('.md'))
    .sort();
  log(`results: ${path.join(dir, 'results', results.at(-1) ?? '')}`);
} else {
  log(
    `next: cd ${dir} && node run.mjs --targets ours,postgraphile,postgraphile5,floor --allow-failed-verify`,
  );
}
