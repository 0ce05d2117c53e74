import { z } from 'zod';

/**
 * The server's configuration, parsed once from the environment at start. This is the only module
 * that reads `process.env`; every variable is documented in `.env.example` and the README.
 */
export type Config = Readonly<z.infer<typeof configSchema>>;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const optionalString = z.preprocess(blankToUndefined, z.string().optional());
const booleanFlag = z.preprocess(
  blankToUndefined,
  z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
);
const positiveInt = (fallback: number) =>
  z.preprocess(blankToUndefined, z.coerce.number().int().positive().default(fallback));

const configSchema = z
  .object({
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
    DATA_DIR: z.preprocess(blankToUndefined, z.string().default('.data')),
    DB_POOL_MAX: positiveInt(10),
    DB_STATEMENT_TIMEOUT_MS: positiveInt(5000),
    JWT_SECRET: optionalString.refine((v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32, {
      message: 'must be at least 32 bytes',
    }),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    JWT_TENANT_CLAIM: z.preprocess(blankToUndefined, z.string().default('tenant_id')),
    MEMBER_ID_HASH_KEY: optionalString.refine((v) => v === undefined || Buffer.byteLength(v, 'utf8') >= 32, {
      message: 'must be at least 32 bytes',
    }),
    GRAPHQL_INTROSPECTION: booleanFlag,
  })
  .transform((env) => ({
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    logLevel: env.LOG_LEVEL,
    databaseUrl: env.DATABASE_URL,
    directDatabaseUrl: env.DIRECT_DATABASE_URL ?? env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    dbPoolMax: env.DB_POOL_MAX,
    statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    jwt: {
      secret: env.JWT_SECRET,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      tenantClaim: env.JWT_TENANT_CLAIM,
    },
    memberIdHashKey: env.MEMBER_ID_HASH_KEY,
    introspection: env.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== 'production',
  }));

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Every variable well-formed. Enough for the tools (db:deploy, db:seed, token). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    // The value itself is never echoed: it may be a secret.
    throw new ConfigError(`Invalid configuration: ${variable}: ${issue?.message ?? 'is invalid'}`);
  }
  return Object.freeze(parsed.data);
}

const REQUIRED_IN_PRODUCTION = [
  'DATABASE_URL',
  'JWT_SECRET',
  'MEMBER_ID_HASH_KEY',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
];

/** What the server needs to start: in production, no development fallback of any kind. */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = loadConfig(env);
  if (config.env === 'production') {
    const missing = REQUIRED_IN_PRODUCTION.find((name) => blankToUndefined(env[name]) === undefined);
    if (missing) throw new ConfigError(`Invalid configuration: ${missing}: is required in production`);
  }
  return config;
}
