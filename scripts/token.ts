// npm run --silent token -- --email admin@test-clinic.com
// Prints a JWT for a seeded user as the last (only) line of stdout. Signed with JWT_SECRET, or
// with the development secret in DATA_DIR that `npm start` uses when JWT_SECRET is unset.
import { parseArgs } from 'node:util';
import { signToken } from '../src/auth/jwt.js';
import { loadConfig } from '../src/config.js';
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
const config = loadConfig();
const secret = config.jwt.secret ?? (await loadDevSecrets(config.dataDir)).jwtSecret;
process.stdout.write(`${await signToken(secret, identity, { ...config.jwt, expiresIn: values.expires })}\n`);
