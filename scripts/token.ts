// npm run --silent token -- --email admin@test-clinic.com [--expires 1h]
// Prints a JWT for a seeded user as the last (only) line of stdout. Signed with JWT_SECRET, or
// with the development secret in DATA_DIR that `npm start` uses when no key source is set. With
// JWT_PUBLIC_KEY or JWT_JWKS_URL the private key is the identity provider's: it exits 2.
// Every refusal is one line on stderr saying what to give instead.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isTokenLifetime, signToken } from '../src/auth/jwt.js';
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { devSecretsFile, loadDevSecrets } from '../src/db/embedded.js';
import { seedEmails, seedIdentity } from '../src/db/seed.js';

const USAGE = "usage: npm run --silent token -- --email <seeded user's email> [--expires 12h]";

function refuse(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

let values: { email?: string; expires: string };
try {
  ({ values } = parseArgs({
    options: { email: { type: 'string' }, expires: { type: 'string', default: '12h' } },
  }));
} catch (error) {
  // An unknown option or one without its value: node's message names it.
  refuse(`${(error as Error).message}; ${USAGE}`);
}
const seeded = `seeded users: ${seedEmails().join(', ')}`;
if (!values.email) refuse(`${USAGE} (${seeded})`);
const identity = seedIdentity(values.email);
if (!identity) refuse(`${values.email} is not a seeded user: tokens are signed for the ${seeded}`);
if (!isTokenLifetime(values.expires)) {
  refuse(
    `--expires ${values.expires} is not a lifetime: give a number and a unit, e.g. 30m, 12h, 7d (s, m, h, d, w, y)`,
  );
}
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  refuse(error.message, 1);
}
const { key } = config.jwt;
if (key && key.kind !== 'secret') {
  const variable = key.kind === 'jwks' ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY';
  refuse(
    `cannot sign: ${variable} is set, so tokens come from the identity provider (docs/identity-providers.md)`,
  );
}
// The server's development secret, never a new one: a token signed with a secret no server has
// would only fail later as "signature verification failed".
const devSecrets = devSecretsFile(config.dataDir);
if (!key && !existsSync(devSecrets)) {
  refuse(
    `no development secret in ${devSecrets}: start the server once (npm start creates it), or set DATA_DIR to the server's (the DATA_DIR it was started with)`,
  );
}
const secret = key?.secret ?? (await loadDevSecrets(config.dataDir)).jwtSecret;
process.stdout.write(`${await signToken(secret, identity, { ...config.jwt, expiresIn: values.expires })}\n`);
