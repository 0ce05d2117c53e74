// npm run --silent token -- --email admin@test-clinic.com
// Prints a JWT for a seeded user as the last (only) line of stdout. Signed with JWT_SECRET, or
// with the development secret in DATA_DIR that `npm start` uses when no key source is set. With
// JWT_PUBLIC_KEY or JWT_JWKS_URL the private key is the identity provider's: it exits 2.
import { parseArgs } from 'node:util';
import { signToken } from '../src/auth/jwt.js';
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { loadDevSecrets } from '../src/db/embedded.js';
import { SEED_TENANTS, seedEmail, seedIdentity } from '../src/db/seed.js';

const { values } = parseArgs({
  options: { email: { type: 'string' }, expires: { type: 'string', default: '12h' } },
});
const identity = values.email ? seedIdentity(values.email) : undefined;
if (!identity) {
  const examples = SEED_TENANTS.map((t) => seedEmail('admin', t.slug)).join(', ');
  process.stderr.write(`usage: npm run --silent token -- --email <seeded user's email> (e.g. ${examples})\n`);
  process.exit(2);
}
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const { key } = config.jwt;
if (key && key.kind !== 'secret') {
  const variable = key.kind === 'jwks' ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY';
  process.stderr.write(
    `cannot sign: ${variable} is set, so tokens come from the identity provider (docs/identity-providers.md)\n`,
  );
  process.exit(2);
}
const secret = key?.secret ?? (await loadDevSecrets(config.dataDir)).jwtSecret;
process.stdout.write(`${await signToken(secret, identity, { ...config.jwt, expiresIn: values.expires })}\n`);
