import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { expect, test } from 'vitest';
import { ConfigError, loadConfig, loadServerConfig } from '../../src/config.js';

// Key pairs as JWT_PUBLIC_KEY would be given them: `spki()` is the public PEM it takes.
const rsa = (modulusLength = 2048) => generateKeyPairSync('rsa', { modulusLength });
const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const ed25519 = () => generateKeyPairSync('ed25519');
const ed448 = () => generateKeyPairSync('ed448');
const spki = (pair: { publicKey: KeyObject }) =>
  pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const pkcs8 = (pair: { privateKey: KeyObject }) =>
  pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const SECRET = 'x'.repeat(32);
const JWKS_URL = 'https://issuer.example/.well-known/jwks.json';

test('defaults need nothing to be set', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({
    env: 'development',
    port: 4000,
    host: '127.0.0.1',
    databaseUrl: undefined,
    introspection: true,
  });
  expect(Object.isFrozen(config)).toBe(true);
});

test.each([
  [{ PORT: 'eighty' }, /^Invalid configuration: PORT: /],
  [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL: /],
  [{ JWT_SECRET: 'short' }, /^Invalid configuration: JWT_SECRET: must be at least 32 bytes$/],
  [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL: /],
  [
    { JWT_SECRET: SECRET, JWT_JWKS_URL: JWKS_URL },
    /^Invalid configuration: JWT_SECRET, JWT_JWKS_URL: set only one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL$/,
  ],
  [
    { JWT_SECRET: SECRET, JWT_PUBLIC_KEY: spki(rsa()), JWT_JWKS_URL: JWKS_URL },
    /^Invalid configuration: JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL: set only one of /,
  ],
  [{ JWT_PUBLIC_KEY: 'not a key' }, /^Invalid configuration: JWT_PUBLIC_KEY: must be a PEM public key/],
  [
    { JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' },
    /^Invalid configuration: JWT_PUBLIC_KEY: is not a readable PEM public key$/,
  ],
  [{ JWT_PUBLIC_KEY: pkcs8(ed25519()) }, /^Invalid configuration: JWT_PUBLIC_KEY: must be a PEM public key/],
  [
    { JWT_PUBLIC_KEY: spki(ec('P-384')) },
    /^Invalid configuration: JWT_PUBLIC_KEY: EC secp384r1 keys are not supported: use RSA \(RS256\), EC P-256 \(ES256\) or Ed25519 \(EdDSA\)$/,
  ],
  [{ JWT_PUBLIC_KEY: spki(ed448()) }, /^Invalid configuration: JWT_PUBLIC_KEY: ed448 keys are not supported/],
  [
    { JWT_PUBLIC_KEY: spki(rsa(1024)) },
    /^Invalid configuration: JWT_PUBLIC_KEY: an RSA key must have at least 2048 bits$/,
  ],
  [{ JWT_JWKS_URL: 'issuer.example/jwks' }, /^Invalid configuration: JWT_JWKS_URL: /],
  [{ JWT_JWKS_URL: 'ftp://issuer.example/jwks' }, /^Invalid configuration: JWT_JWKS_URL: /],
  [{ JWT_JWKS_COOLDOWN_MS: '0' }, /^Invalid configuration: JWT_JWKS_COOLDOWN_MS: /],
  [{ GRAPHIQL: 'yes' }, /^Invalid configuration: GRAPHIQL: /],
  [{ MAX_QUERY_DEPTH: 'deep' }, /^Invalid configuration: MAX_QUERY_DEPTH: /],
  [{ MAX_ALIASES: '-1' }, /^Invalid configuration: MAX_ALIASES: /],
  [{ MAX_TOKENS: '1.5' }, /^Invalid configuration: MAX_TOKENS: /],
  [{ MAX_QUERY_COST: '0' }, /^Invalid configuration: MAX_QUERY_COST: /],
  [{ MAX_BODY_BYTES: '1MB' }, /^Invalid configuration: MAX_BODY_BYTES: /],
  [{ METRICS_TOKEN: 'short' }, /^Invalid configuration: METRICS_TOKEN: must be at least 16 bytes$/],
  [{ METRICS_PORT: '9464x' }, /^Invalid configuration: METRICS_PORT: /],
  [{ METRICS_PORT: '70000' }, /^Invalid configuration: METRICS_PORT: /],
  [{ METRICS_PORT: '4000' }, /^Invalid configuration: METRICS_PORT: must differ from PORT$/],
  [{ PORT: '8080', METRICS_PORT: '8080' }, /^Invalid configuration: METRICS_PORT: must differ from PORT$/],
  [
    { DATABASE_URL: 'postgresql://app@db/x', MEMBER_ID_HASH_KEY: 'y'.repeat(32) },
    /^Invalid configuration: JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL: one is required with DATABASE_URL$/,
  ],
  [
    { DATABASE_URL: 'postgresql://app@db/x', JWT_JWKS_URL: JWKS_URL },
    /^Invalid configuration: MEMBER_ID_HASH_KEY: is required with DATABASE_URL$/,
  ],
])('a bad value is one line naming the variable: %o', (env, message) => {
  expect(() => loadServerConfig(env)).toThrow(message);
  try {
    loadServerConfig(env);
  } catch (error) {
    expect((error as Error).message).not.toContain('\n');
  }
});

test('every problem at once: a bare NODE_ENV=production lists all it needs, on one line', () => {
  expect(() => loadServerConfig({ NODE_ENV: 'production' })).toThrow(
    'Invalid configuration: DATABASE_URL: is required in production; MEMBER_ID_HASH_KEY: is required in ' +
      'production; JWT_ISSUER: is required in production; JWT_AUDIENCE: is required in production; ' +
      'JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL: one is required in production',
  );
});

test('malformed variables and missing ones come together, one entry per variable', () => {
  let error: unknown;
  try {
    loadServerConfig({
      NODE_ENV: 'production',
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      JWT_JWKS_URL: 'http://issuer.example/jwks',
      MEMBER_ID_HASH_KEY: 'short',
      JWT_ISSUER: 'https://issuer.example/',
    });
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const { problems, message } = error as ConfigError;
  expect(problems.map((problem) => problem.slice(0, problem.indexOf(':')))).toEqual([
    'PORT',
    'LOG_LEVEL',
    'DATABASE_URL',
    'MEMBER_ID_HASH_KEY',
    'JWT_AUDIENCE',
    'JWT_JWKS_URL',
  ]);
  expect(problems).toContain('JWT_JWKS_URL: must be https in production');
  expect(problems).toContain('MEMBER_ID_HASH_KEY: must be at least 32 bytes');
  expect(message).not.toContain('\n');
});

test("the abuse limits default to API.md's values and each can be set", () => {
  expect(loadConfig({}).limits).toEqual({
    depth: 12,
    aliases: 30,
    tokens: 1000,
    cost: 50_000,
    bodyBytes: 1_048_576,
    documentBytes: 65_536,
    stringLiteralBytes: 8_192,
  });
  expect(
    loadConfig({
      MAX_QUERY_DEPTH: '8',
      MAX_ALIASES: '0',
      MAX_TOKENS: '500',
      MAX_QUERY_COST: ' ',
      MAX_BODY_BYTES: '65536',
      MAX_DOCUMENT_BYTES: '4096',
      MAX_STRING_LITERAL_BYTES: '256',
    }).limits,
  ).toEqual({
    depth: 8,
    aliases: 0,
    tokens: 500,
    cost: 50_000,
    bodyBytes: 65_536,
    documentBytes: 4_096,
    stringLiteralBytes: 256,
  });
});

test('CORS is off unless CORS_ORIGINS lists origins; an origin with a path is refused, never echoed', () => {
  expect(loadConfig({}).corsOrigins).toEqual([]);
  expect(loadConfig({ CORS_ORIGINS: ' https://a.example , http://localhost:5173 ' }).corsOrigins).toEqual([
    'https://a.example',
    'http://localhost:5173',
  ]);
  expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example/app' })).toThrow(
    'Invalid configuration: CORS_ORIGINS: each origin must be scheme://host[:port], without a path',
  );
});

test('GraphiQL is on, except in production unless GRAPHIQL=true', () => {
  expect(loadConfig({}).graphiql).toBe(true);
  expect(loadConfig({ GRAPHIQL: 'false' }).graphiql).toBe(false);
  expect(loadConfig({ NODE_ENV: 'production' }).graphiql).toBe(false);
  expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' }).graphiql).toBe(true);
});

test('trusted documents: manifests comma-separated; only them by default in production once one is set', () => {
  expect(loadConfig({}).trustedDocuments).toEqual({ paths: [], only: false });
  expect(loadConfig({ NODE_ENV: 'production' }).trustedDocuments.only).toBe(false);
  const twoVersions = { TRUSTED_DOCUMENTS: ' v41.json, ,v42.json ' };
  expect(loadConfig(twoVersions).trustedDocuments).toEqual({ paths: ['v41.json', 'v42.json'], only: false });
  expect(loadConfig({ ...twoVersions, NODE_ENV: 'production' }).trustedDocuments.only).toBe(true);
  expect(
    loadConfig({ ...twoVersions, NODE_ENV: 'production', TRUSTED_DOCUMENTS_ONLY: 'false' }).trustedDocuments
      .only,
  ).toBe(false);
  expect(loadConfig({ ...twoVersions, TRUSTED_DOCUMENTS_ONLY: 'true' }).trustedDocuments.only).toBe(true);
  expect(() => loadConfig({ TRUSTED_DOCUMENTS_ONLY: 'true', TRUSTED_DOCUMENTS: ' , ' })).toThrow(
    /^Invalid configuration: TRUSTED_DOCUMENTS_ONLY: is true but TRUSTED_DOCUMENTS names no manifest$/,
  );
  expect(() => loadConfig({ TRUSTED_DOCUMENTS_ONLY: 'yes' })).toThrow(
    /^Invalid configuration: TRUSTED_DOCUMENTS_ONLY: /,
  );
});

test('the value of a bad variable is never echoed (it may be a secret)', () => {
  expect(() => loadConfig({ JWT_SECRET: 'tiny-secret' })).toThrow(/^(?!.*tiny-secret)/);
});

test('production needs issuer and audience too, and turns introspection off by default', () => {
  const base = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgresql://app@db/prior_auth',
    JWT_SECRET: 'x'.repeat(32),
    MEMBER_ID_HASH_KEY: 'y'.repeat(32),
  };
  expect(() => loadServerConfig(base)).toThrow(/JWT_ISSUER: is required in production/);
  const config = loadServerConfig({ ...base, JWT_ISSUER: 'https://issuer', JWT_AUDIENCE: 'prior-auth' });
  expect(config.introspection).toBe(false);
});

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://app@db/prior_auth',
  MEMBER_ID_HASH_KEY: 'y'.repeat(32),
  JWT_ISSUER: 'https://issuer.example/',
  JWT_AUDIENCE: 'prior-auth',
};

test('production needs exactly one key source, any of the three, and a JWKS over https', () => {
  expect(() => loadServerConfig(PRODUCTION)).toThrow(
    /^Invalid configuration: JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL: one is required in production$/,
  );
  expect(loadServerConfig({ ...PRODUCTION, JWT_SECRET: SECRET }).jwt.key).toEqual({
    kind: 'secret',
    secret: SECRET,
  });
  expect(loadServerConfig({ ...PRODUCTION, JWT_PUBLIC_KEY: spki(rsa()) }).jwt.key).toMatchObject({
    kind: 'publicKey',
    algorithm: 'RS256',
  });
  expect(loadServerConfig({ ...PRODUCTION, JWT_JWKS_URL: JWKS_URL }).jwt.key).toEqual({
    kind: 'jwks',
    url: JWKS_URL,
    cooldownMs: 30_000,
    cacheMaxAgeMs: 600_000,
    timeoutMs: 5_000,
  });
  expect(() => loadServerConfig({ ...PRODUCTION, JWT_JWKS_URL: 'http://issuer.example/jwks' })).toThrow(
    /^Invalid configuration: JWT_JWKS_URL: must be https in production$/,
  );
  expect(() =>
    loadServerConfig({ ...PRODUCTION, JWT_SECRET: SECRET, JWT_PUBLIC_KEY: spki(ed25519()) }),
  ).toThrow(/^Invalid configuration: JWT_SECRET, JWT_PUBLIC_KEY: set only one of /);
});

test('the key type alone fixes the algorithm of JWT_PUBLIC_KEY', () => {
  const algorithm = (publicKey: string) => {
    const { key } = loadConfig({ JWT_PUBLIC_KEY: publicKey }).jwt;
    return key?.kind === 'publicKey' ? key.algorithm : undefined;
  };
  expect(algorithm(spki(rsa()))).toBe('RS256');
  expect(algorithm(spki(ec('P-256')))).toBe('ES256');
  expect(algorithm(spki(ed25519()))).toBe('EdDSA');
  // One line in an env file or a container variable: newlines escaped as \n.
  expect(algorithm(spki(ed25519()).trim().replaceAll('\n', '\\n'))).toBe('EdDSA');
});

test('development: no key source means the generated secret; a JWKS over http is fine; the knobs parse', () => {
  expect(loadServerConfig({}).jwt.key).toBeUndefined();
  expect(
    loadServerConfig({ JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks', JWT_JWKS_COOLDOWN_MS: '500' }).jwt.key,
  ).toMatchObject({ kind: 'jwks', cooldownMs: 500 });
});

test('the tools (db:deploy, db:seed, token) need only well-formed variables, in production too', () => {
  expect(
    loadConfig({ NODE_ENV: 'production', DIRECT_DATABASE_URL: 'postgresql://owner@db/x' }).directDatabaseUrl,
  ).toBe('postgresql://owner@db/x');
});

test('named prepared statements: 50 per connection by default, none when turned off', () => {
  expect(loadConfig({}).preparedStatementsMax).toBe(50);
  expect(loadConfig({ DB_PREPARED_STATEMENTS_MAX: '200' }).preparedStatementsMax).toBe(200);
  expect(loadConfig({ DB_PREPARED_STATEMENTS_MAX: '0' }).preparedStatementsMax).toBe(0);
  expect(
    loadConfig({ DB_PREPARED_STATEMENTS: 'false', DB_PREPARED_STATEMENTS_MAX: '200' }).preparedStatementsMax,
  ).toBe(0);
  expect(() => loadConfig({ DB_PREPARED_STATEMENTS: 'no' })).toThrow(
    /^Invalid configuration: DB_PREPARED_STATEMENTS: /,
  );
  expect(() => loadConfig({ DB_PREPARED_STATEMENTS_MAX: '-1' })).toThrow(
    /^Invalid configuration: DB_PREPARED_STATEMENTS_MAX: /,
  );
});

test('metrics are off unless METRICS_TOKEN or METRICS_PORT is set; port 0 picks a free port for each', () => {
  expect(loadConfig({}).metrics).toEqual({ token: undefined, port: undefined });
  expect(loadConfig({ METRICS_TOKEN: 't'.repeat(16), METRICS_PORT: '9464' }).metrics).toEqual({
    token: 't'.repeat(16),
    port: 9464,
  });
  expect(loadConfig({ PORT: '0', METRICS_PORT: '0' }).metrics.port).toBe(0);
});
