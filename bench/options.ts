// npm run bench [-- options]: builds the data set, starts the production server against it and
// measures the shapes of the performance issues (bench/shapes.ts). Options (defaults in brackets):
//   --tenants N            tenants [20]
//   --cases N              cases per tenant, at most 1,000,000 [5000]
//   --shapes q1,q2,m2      shapes to measure: q1 q2 q3 m1 m2 m3 [all]
//   --rounds N             measured runs per shape; the table shows the median [2]
//   --duration S           measured seconds per run [10]
//   --warmup S             warm-up seconds before each run [3]
//   --connections N        concurrent keep-alive connections [16]
//   --soak S               a run of S seconds of the shapes mixed, 80% reads and 20% writes when
//                          the shapes have both: latency and RSS growth; 0 = none [60]
//   --pool N               DB_POOL_MAX of the server [10]
//   --explain              no load: EXPLAIN ANALYZE of each shape's statements and the latency of
//                          sequential requests (section explain-<scale>)
//   --profile SHAPE        CPU profile (node --cpu-prof) of the server under SHAPE's load
//   --no-build             use dist/ as it is (default: npm run build first)
//   --regenerate           rebuild the data set even when it is unchanged
//   --prepare-only         database and data only (e.g. for the peer harness), then stop
//   --no-write             print, but leave docs/benchmarks.md alone
//   --realtime             instead of the shapes: the realtime scenario (bench/realtime.ts), about
//                          75 s per setup, so not part of the default run (section realtime)
//   --subscribers N        realtime: SSE subscribers of Subscription.changes [1000]
//   --rate N               realtime: mutations per second while they listen [50]
//   --realtime-duration S  realtime: seconds of those mutations [30]
//   --setups a,b           realtime: one (1 instance), two (2 instances, LISTEN/NOTIFY), two-redis
//                          (2 instances, Redis; left out when Redis does not answer) [all]
//   --realtime-profile     realtime: node --cpu-prof on the first instance, setup one unless
//                          --setups names others (section profile-realtime)
//   --operations           instead of the shapes' table: each shape on a server with trusted
//                          documents, metrics and tracing off and on one with all three on,
//                          round by round (bench/operations.ts, section operations)
//   --operations-parts a,b operations: only these on: trusted, metrics, tracing [all three]
//                          (section operations-<parts>)
// Environment: BENCH_DATABASE_URL, an owner URL (default: postgresql://postgres@127.0.0.1:5432/
// bench_prior_auth, or an embedded PostgreSQL when nothing listens there or BENCH_EMBEDDED=1).
import { DEFAULT_SCALE, MAX_CASES_PER_TENANT, type Scale } from './data.js';
import { OPERATIONS_PARTS, type OperationsPart } from './operations.js';
import { REALTIME_SETUPS, type RealtimeOptions, type RealtimeSetup } from './realtime.js';
import { SHAPES, type Shape } from './shapes.js';

export interface Options {
  scale: Scale;
  shapes: Shape[];
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  soakS: number;
  pool: number;
  explain: boolean;
  profile: Shape | null;
  build: boolean;
  regenerate: boolean;
  prepareOnly: boolean;
  write: boolean;
  /** The realtime scenario instead of the shapes; null: the shapes. */
  realtime: Omit<RealtimeOptions, 'pool'> | null;
  /** The shapes with trusted documents, metrics and tracing off vs on (bench/operations.ts). */
  operations: boolean;
  /** Which of the three the "on" server turns on. */
  parts: OperationsPart[];
}

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    scale: { ...DEFAULT_SCALE },
    shapes: [...SHAPES],
    rounds: 2,
    durationS: 10,
    warmupS: 3,
    connections: 16,
    soakS: 60,
    pool: 10,
    explain: false,
    profile: null,
    build: true,
    regenerate: false,
    prepareOnly: false,
    write: true,
    realtime: null,
    operations: false,
    parts: [...OPERATIONS_PARTS],
  };
  const realtime: Omit<RealtimeOptions, 'pool'> = {
    subscribers: 1000,
    rate: 50,
    durationS: 30,
    setups: Object.keys(REALTIME_SETUPS) as RealtimeSetup[],
    profile: false,
  };
  let wantsRealtime = false;
  let setupsGiven = false;
  const setup = (value: string): RealtimeSetup => {
    if (!(value in REALTIME_SETUPS))
      throw new Error(`unknown setup ${value} (${Object.keys(REALTIME_SETUPS).join(', ')})`);
    return value as RealtimeSetup;
  };
  const int = (name: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: an integer ${min}..${max}`);
    return n;
  };
  const part = (value: string): OperationsPart => {
    if (!(OPERATIONS_PARTS as readonly string[]).includes(value))
      throw new Error(`unknown part ${value} (${OPERATIONS_PARTS.join(', ')})`);
    return value as OperationsPart;
  };
  const shape = (value: string | undefined): Shape => {
    if (!SHAPES.includes(value as Shape)) throw new Error(`unknown shape ${value} (${SHAPES.join(', ')})`);
    return value as Shape;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => argv[++i];
    switch (arg) {
      case '--tenants':
        o.scale.tenants = int(arg, next(), 1, 100);
        break;
      case '--cases':
        o.scale.casesPerTenant = int(arg, next(), 200, MAX_CASES_PER_TENANT);
        break;
      case '--shapes':
        o.shapes = (next() ?? '').split(',').filter(Boolean).map(shape);
        break;
      case '--rounds':
        o.rounds = int(arg, next(), 1, 10);
        break;
      case '--duration':
        o.durationS = int(arg, next(), 1, 600);
        break;
      case '--warmup':
        o.warmupS = int(arg, next(), 0, 120);
        break;
      case '--connections':
        o.connections = int(arg, next(), 1, 256);
        break;
      case '--soak':
        o.soakS = int(arg, next(), 0, 3600);
        break;
      case '--pool':
        o.pool = int(arg, next(), 1, 100);
        break;
      case '--explain':
        o.explain = true;
        break;
      case '--profile':
        o.profile = shape(next());
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--regenerate':
        o.regenerate = true;
        break;
      case '--prepare-only':
        o.prepareOnly = true;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--operations':
        o.operations = true;
        break;
      case '--operations-parts':
        o.operations = true;
        o.parts = (next() ?? '').split(',').filter(Boolean).map(part);
        break;
      case '--realtime':
        wantsRealtime = true;
        break;
      case '--subscribers':
        realtime.subscribers = int(arg, next(), 1, 10_000);
        break;
      case '--rate':
        realtime.rate = int(arg, next(), 1, 1_000);
        break;
      case '--realtime-duration':
        realtime.durationS = int(arg, next(), 1, 600);
        break;
      case '--setups':
        realtime.setups = (next() ?? '').split(',').filter(Boolean).map(setup);
        setupsGiven = true;
        break;
      case '--realtime-profile':
        wantsRealtime = true;
        realtime.profile = true;
        break;
      default:
        throw new Error(`unknown option ${arg} (the options are listed at the top of bench/run.ts)`);
    }
  }
  // A profile is of one instance's work: the one-instance setup unless others are named.
  if (realtime.profile && !setupsGiven) realtime.setups = ['one'];
  if (wantsRealtime) o.realtime = realtime;
  if (o.explain) {
    o.rounds = 0;
    o.soakS = 0;
  }
  if (o.profile) {
    o.shapes = [o.profile];
    o.rounds = 1;
    o.soakS = 0;
  }
  return o;
}
