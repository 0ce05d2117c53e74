import { z } from 'zod';
import { type JwtKeySource, publicKeyAlgorithm } from './auth/jwt.js';
import { DEFAULT_PREPARED_STATEMENTS_MAX } from './db/prepared.js';
import { StartupError } from './startup-error.js';

/**
 * The server's configuration, parsed once from the environment at start. This is the only module
 * that reads `process.env`; every variable is documented in `.env.example` and the README.
 */
export type Config = Readonly<z.infer<typeof configSchema>>;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const optionalString = z.preprocess(blankToUndefined, z.string().optional());
/** A comma-separated list, its items trimmed; unset or blank: empty. */
const commaSeparated = z.preprocess(
  blankToUndefined,
  z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    ),
);
const booleanFlag = z.preprocess(
  blankToUndefined,
  z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
);
const positiveInt = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));
const nonNegativeInt = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().min(0).default(fallback));

/**
 * The samplers of OpenTelemetry's `OTEL_TRACES_SAMPLER` this server offers (the specification's,
 * less the remote ones: jaeger_remote, xray). The `traceidratio` ones take OTEL_TRACES_SAMPLER_ARG.
 */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

/** Spans leave as OTLP over HTTP with JSON bodies, which every OTLP/HTTP receiver accepts. */
const otlpProtocol = z.preprocess(
  blankToUndefined,
  z
    .enum(['http/json'], {
      message: 'only http/json is supported (OTLP over HTTP, JSON bodies: any OTLP/HTTP receiver takes them)',
    })
    .optional(),
);

/** Where the development server keeps its embedded PostgreSQL and secrets when DATA_DIR is unset. */
export const DEFAULT_DATA_DIR = '.data';

const envSchema = z.object({
  NODE_ENV: z.preprocess(
    blankToUndefined,
    z.enum(['development', 'production', 'test']).default('development'),
  ),
  HOST: z.preprocess(blankToUndefined, z.string().default('127.0.0.1')),
  PORT: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).default(4000)),
  LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DIRECT_DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DATA_DIR: z.preprocess(blankToUndefined, z.string().default(DEFAULT_DATA_DIR)),
  DB_POOL_MAX: positiveInt(10),
  DB_STATEMENT_TIMEOUT_MS: positiveInt(5000),
  // Off for a pooler that does not keep named statements per client (PgBouncer before 1.21, or
  // its max_prepared_statements = 0): every statement is then sent unnamed, parsed each time.
  DB_PREPARED_STATEMENTS: booleanFlag,
  DB_PREPARED_STATEMENTS_MAX: nonNegativeInt(DEFAULT_PREPARED_STATEMENTS_MAX),
  // The change feed (docs/realtime.md): LISTEN needs a session, not a transaction pooler's URL.
  DATABASE_LISTEN_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
  MAX_SUBSCRIPTIONS_PER_USER: positiveInt(10),
  SHUTDOWN_GRACE_MS: positiveInt(10_000),
  SHUTDOWN_DEADLINE_MS: positiveInt(5_000),
  JWT_SECRET: optionalString.refine((v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32, {
    message: 'must be at least 32 bytes',
  }),
  // PEM in an environment variable often arrives with its newlines escaped as `\n`.
  JWT_PUBLIC_KEY: optionalString.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const pem = value.replaceAll('\\n', '\n');
    try {
      return { pem, algorithm: publicKeyAlgorithm(pem) };
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  JWT_JWKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  JWT_JWKS_COOLDOWN_MS: positiveInt(30_000),
  JWT_JWKS_CACHE_MAX_AGE_MS: positiveInt(600_000),
  JWT_JWKS_TIMEOUT_MS: positiveInt(5_000),
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  JWT_TENANT_CLAIM: z.preprocess(blankToUndefined, z.string().default('tenant_id')),
  MEMBER_ID_HASH_KEY: optionalString.refine((v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32, {
    message: 'must be at least 32 bytes',
  }),
  GRAPHQL_INTROSPECTION: booleanFlag,
  // Queries the SQL compiler covers run as one statement (src/compiled); off: every query runs
  // through the resolvers. Both give the same response (tests/integration/compiled.test.ts).
  COMPILED_QUERIES: booleanFlag,
  GRAPHIQL: booleanFlag,
  // Trusted documents (docs/operations.md, "Trusted documents"): manifests of the clients' operations,
  // comma-separated paths, so that two client versions can be live during a deploy.
  TRUSTED_DOCUMENTS: commaSeparated,
  TRUSTED_DOCUMENTS_ONLY: booleanFlag,
  // Abuse limits (API.md, "Abuse limits"); src/plugins/limits.ts says how each is counted.
  MAX_QUERY_DEPTH: positiveInt(12),
  MAX_ALIASES: nonNegativeInt(30),
  MAX_TOKENS: positiveInt(1000),
  MAX_QUERY_COST: positiveInt(50_000),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
  MAX_DOCUMENT_BYTES: positiveInt(64 * 1024),
  MAX_CONNECTIONS: positiveInt(1_000),
  MAX_STRING_LITERAL_BYTES: positiveInt(8 * 1024),
  // Browser origins allowed to call the API (CORS), comma-separated; none: CORS is off.
  CORS_ORIGINS: commaSeparated.pipe(
    z.array(
      z.url({ protocol: /^https?$/ }).refine((origin) => new URL(origin).origin === origin, {
        message: 'each origin must be scheme://host[:port], without a path',
      }),
    ),
  ),
  // Tracing (docs/operations.md, "Tracing"): OpenTelemetry's own variables, as its specification
  // names them. No endpoint: tracing is off, and none of OpenTelemetry's SDK is even loaded.
  OTEL_SDK_DISABLED: booleanFlag,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_SERVICE_NAME: optionalString,
  OTEL_RESOURCE_ATTRIBUTES: optionalString.transform((value, ctx) => {
    try {
      return resourceAttributes(value ?? '');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  OTEL_TRACES_SAMPLER: z.preprocess(
    blankToUndefined,
    z
      .enum(TRACE_SAMPLERS, { message: `must be one of ${TRACE_SAMPLERS.join(', ')}` })
      .default('parentbased_always_on'),
  ),
  OTEL_TRACES_SAMPLER_ARG: z.preprocess(
    blankToUndefined,
    z.coerce.number({ message: 'must be a number from 0 to 1' }).min(0).max(1).default(1),
  ),
  // Prometheus metrics at /metrics (docs/operations.md, "Metrics"): with neither set, none are
  // collected. The token is a secret of the scraper's, not a user's JWT.
  // Trimmed: a secret made from a file keeps its trailing newline, which no Authorization header can carry.
  METRICS_TOKEN: optionalString
    .transform((v) => v?.trim() || undefined)
    .refine((v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 16, {
      message: 'must be at least 16 bytes',
    }),
  METRICS_PORT: z.preprocess(blankToUndefined, z.coerce.number().int().min(0).max(65535).optional()),
});

/** PORT=0 and METRICS_PORT=0 each pick a free port of their own; any other port is one listener's. */
function portsDiffer(env: z.output<typeof envSchema>, ctx: z.RefinementCtx): void {
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT)
    ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT' });
}

const KEY_SOURCES = ['JWT_SECRET', 'JWT_PUBLIC_KEY', 'JWT_JWKS_URL'] as const;

const configSchema = envSchema.superRefine(portsDiffer).transform((env) => ({
  env: env.NODE_ENV,
  host: env.HOST,
  port: env.PORT,
  logLevel: env.LOG_LEVEL,
  databaseUrl: env.DATABASE_URL,
  directDatabaseUrl: env.DIRECT_DATABASE_URL ?? env.DATABASE_URL,
  dataDir: env.DATA_DIR,
  dbPoolMax: env.DB_POOL_MAX,
  statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
  /** Named prepared statements per connection; 0: none (DB_PREPARED_STATEMENTS=false). */
  preparedStatementsMax: env.DB_PREPARED_STATEMENTS === false ? 0 : env.DB_PREPARED_STATEMENTS_MAX,
  realtime: {
    /** Unset: the runtime URL (DATABASE_URL, or the embedded database's). */
    listenUrl: env.DATABASE_LISTEN_URL,
    redisUrl: env.REDIS_URL,
    maxSubscriptionsPerUser: env.MAX_SUBSCRIPTIONS_PER_USER,
  },
  shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
  shutdownDeadlineMs: env.SHUTDOWN_DEADLINE_MS,
  jwt: {
    /** Unset: none was configured (development then uses the generated secret in DATA_DIR). */
    key: jwtKeySource(env),
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    tenantClaim: env.JWT_TENANT_CLAIM,
  },
  memberIdHashKey: env.MEMBER_ID_HASH_KEY,
  compiledQueries: env.COMPILED_QUERIES ?? true,
  introspection: env.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== 'production',
  graphiql: env.GRAPHIQL ?? env.NODE_ENV !== 'production',
  trustedDocuments: {
    /** The manifests' paths (TRUSTED_DOCUMENTS); none: documents are accepted only as text. */
    paths: env.TRUSTED_DOCUMENTS,
    /** Only documents of the manifests run (by id); any document sent as text is refused. */
    only: env.TRUSTED_DOCUMENTS_ONLY ?? (env.NODE_ENV === 'production' && env.TRUSTED_DOCUMENTS.length > 0),
  },
  limits: {
    depth: env.MAX_QUERY_DEPTH,
    aliases: env.MAX_ALIASES,
    tokens: env.MAX_TOKENS,
    cost: env.MAX_QUERY_COST,
    bodyBytes: env.MAX_BODY_BYTES,
    documentBytes: env.MAX_DOCUMENT_BYTES,
    stringLiteralBytes: env.MAX_STRING_LITERAL_BYTES,
  },
  corsOrigins: env.CORS_ORIGINS,
  maxConnections: env.MAX_CONNECTIONS,
  /** Unset: tracing is off (no OTLP endpoint, or OTEL_SDK_DISABLED=true). */
  tracing: tracingConfig(env),
  metrics: {
    /** METRICS_TOKEN: /metrics on the main port, for this bearer token only. */
    token: env.METRICS_TOKEN,
    /** METRICS_PORT: a listener of its own, on HOST, serving only /metrics, without a token. */
    port: env.METRICS_PORT,
  },
}));

/** What src/tracing/setup.ts needs: where spans go, the service's name, which requests are sampled. */
export interface TracingConfig {
  /** The OTLP/HTTP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `v1/traces`. */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES' `service.name`, else `prior-auth-api`. */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES: the process's resource (deployment.environment.name, k8s.pod.name, …). */
  resourceAttributes: Record<string, string>;
  sampler: (typeof TRACE_SAMPLERS)[number];
  /** OTEL_TRACES_SAMPLER_ARG: the share of traces a `traceidratio` sampler keeps. */
  ratio: number;
}

function tracingConfig(env: z.output<typeof envSchema>): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED) return undefined;
  // The specification's rule: the signal's own endpoint is used as it is; the general one is a
  // base URL that the signal's path is appended to.
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesUrl =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (base === undefined ? undefined : `${base.endsWith('/') ? base : `${base}/`}v1/traces`);
  if (tracesUrl === undefined) return undefined;
  const resource = env.OTEL_RESOURCE_ATTRIBUTES;
  return {
    tracesUrl,
    serviceName: env.OTEL_SERVICE_NAME ?? resource['service.name'] ?? 'prior-auth-api',
    resourceAttributes: resource,
    sampler: env.OTEL_TRACES_SAMPLER,
    ratio: env.OTEL_TRACES_SAMPLER_ARG,
  };
}

function jwtKeySource(env: z.output<typeof envSchema>): JwtKeySource | undefined {
  if (env.JWT_SECRET !== undefined) return { kind: 'secret', secret: env.JWT_SECRET };
  if (env.JWT_PUBLIC_KEY !== undefined) return { kind: 'publicKey', ...env.JWT_PUBLIC_KEY };
  if (env.JWT_JWKS_URL !== undefined) {
    return {
      kind: 'jwks',
      url: env.JWT_JWKS_URL,
      cooldownMs: env.JWT_JWKS_COOLDOWN_MS,
      cacheMaxAgeMs: env.JWT_JWKS_CACHE_MAX_AGE_MS,
      timeoutMs: env.JWT_JWKS_TIMEOUT_MS,
    };
  }
  return undefined;
}

/** OTEL_RESOURCE_ATTRIBUTES as the specification writes it: `key=value,key=value`, values percent-encoded. */
function resourceAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const equals = entry.indexOf('=');
    const key = entry.slice(0, Math.max(equals, 0)).trim();
    if (equals < 0 || key === '') throw new Error('must be key=value pairs, separated by commas');
    try {
      attributes[key] = decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {
      throw new Error(`the value of ${key} is not percent-encoded correctly`);
    }
  }
  return attributes;
}

/**
 * Every configuration problem at once, on one line: `Invalid configuration: A: …; B: …`. A bare
 * `NODE_ENV=production` then takes one restart to get right, not one per missing variable.
 */
export class ConfigError extends StartupError {
  override name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
  }
}

/** Every variable well-formed. Enough for the tools (db:deploy, db:seed, token). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(env, () => []);
}

const REQUIRED_IN_PRODUCTION = ['DATABASE_URL', 'MEMBER_ID_HASH_KEY', 'JWT_ISSUER', 'JWT_AUDIENCE'];

/** What the server needs to start: in production, no development fallback of any kind. */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseConfig(env, serverProblems);
}

/** A variable (or several, comma-separated) and what is wrong with it. */
type Problem = [variable: string, message: string];

/**
 * Parses `env`, collecting the problems of every variable and of the checks across variables
 * (`moreProblems`, given the raw values: they run also when a variable failed to parse). The
 * first problem of each variable is kept.
 */
function parseConfig(env: NodeJS.ProcessEnv, moreProblems: (env: NodeJS.ProcessEnv) => Problem[]): Config {
  const parsed = configSchema.safeParse(env);
  const problems: Problem[] = (parsed.success ? [] : parsed.error.issues).map((issue) => [
    String(issue.path[0] ?? 'environment'),
    // The value itself is never echoed: it may be a secret.
    issue.message,
  ]);
  const keySources = KEY_SOURCES.filter((name) => isSet(env, name));
  if (keySources.length > 1)
    problems.push([keySources.join(', '), `set only one of ${KEY_SOURCES.join(', ')}`]);
  // Without a manifest, "only trusted documents" would refuse every request.
  const manifests = (env.TRUSTED_DOCUMENTS ?? '').split(',').filter((path) => path.trim() !== '');
  if (env.TRUSTED_DOCUMENTS_ONLY?.trim() === 'true' && manifests.length === 0)
    problems.push(['TRUSTED_DOCUMENTS_ONLY', 'is true but TRUSTED_DOCUMENTS names no manifest']);
  problems.push(...moreProblems(env));
  const byVariable = new Map<string, string>();
  for (const [variable, message] of problems) {
    if (!byVariable.has(variable)) byVariable.set(variable, `${variable}: ${message}`);
  }
  if (!parsed.success || byVariable.size > 0) throw new ConfigError([...byVariable.values()]);
  return Object.freeze(parsed.data);
}

function serverProblems(env: NodeJS.ProcessEnv): Problem[] {
  const keySources = KEY_SOURCES.join(', ');
  const hasKeySource = KEY_SOURCES.some((name) => isSet(env, name));
  const problems: Problem[] = [];
  if (env.NODE_ENV === 'production') {
    for (const name of REQUIRED_IN_PRODUCTION) {
      if (!isSet(env, name)) problems.push([name, 'is required in production']);
    }
    if (!hasKeySource) problems.push([keySources, 'one is required in production']);
    // Over plain http anyone on the path could substitute their own signing keys.
    if (isSet(env, 'JWT_JWKS_URL') && !env.JWT_JWKS_URL?.trim().startsWith('https:')) {
      problems.push(['JWT_JWKS_URL', 'must be https in production']);
    }
  }
  // A real database never falls back on the development secrets in DATA_DIR.
  if (isSet(env, 'DATABASE_URL')) {
    if (!hasKeySource) problems.push([keySources, 'one is required with DATABASE_URL']);
    if (!isSet(env, 'MEMBER_ID_HASH_KEY'))
      problems.push(['MEMBER_ID_HASH_KEY', 'is required with DATABASE_URL']);
  }
  return problems;
}

function isSet(env: NodeJS.ProcessEnv, name: string): boolean {
  return blankToUndefined(env[name]) !== undefined;
}
