import { expect, test } from 'vitest';
import { loadConfig, loadServerConfig } from '../../src/config.js';

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
  [{ NODE_ENV: 'production' }, /^Invalid configuration: DATABASE_URL: is required in production$/],
])('a bad value is one line naming the variable: %o', (env, message) => {
  expect(() => loadServerConfig(env)).toThrow(message);
  try {
    loadServerConfig(env);
  } catch (error) {
    expect((error as Error).message).not.toContain('\n');
  }
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

test('the tools (db:deploy, db:seed, token) need only well-formed variables, in production too', () => {
  expect(
    loadConfig({ NODE_ENV: 'production', DIRECT_DATABASE_URL: 'postgresql://owner@db/x' }).directDatabaseUrl,
  ).toBe('postgresql://owner@db/x');
});
