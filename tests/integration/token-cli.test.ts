import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { createTokenVerifier } from '../../src/auth/jwt.js';
import { seedIdentity } from '../../src/db/seed.js';
import { TEST_JWT_SECRET } from '../helpers/app.js';

// `npm run token` as a user runs it: a refusal is one line on stderr saying what to give instead.

async function token(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return tokenWith({ JWT_SECRET: TEST_JWT_SECRET }, ...args);
}

async function tokenWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/token.ts', ...args],
      { env: { PATH: process.env.PATH, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

test('a bad lifetime, an unknown email and an unknown option are each one line naming the fix', async () => {
  const [lifetime, unknown, option] = await Promise.all([
    token('--email', 'admin@test-clinic.com', '--expires', '1x'),
    token('--email', 'nobody@example.com'),
    token('--email', 'admin@test-clinic.com', '--expire', '1h'),
  ]);
  expect(lifetime).toEqual({
    code: 2,
    stdout: '',
    stderr:
      '--expires 1x is not a lifetime: give a number and a unit, e.g. 30m, 12h, 7d (s, m, h, d, w, y)\n',
  });
  expect(unknown).toEqual({
    code: 2,
    stdout: '',
    stderr:
      'nobody@example.com is not a seeded user: tokens are signed for the seeded users: admin@test-clinic.com, ' +
      'clinician@test-clinic.com, staff@test-clinic.com, jordan@test-clinic.com, riley@test-clinic.com, ' +
      'intake@test-clinic.com, admin@second-clinic.com, clinician@second-clinic.com, staff@second-clinic.com, ' +
      'jordan@second-clinic.com, riley@second-clinic.com, intake@second-clinic.com\n',
  });
  expect(option.code).toBe(2);
  expect(option.stderr).toMatch(/^Unknown option '--expire'.*; usage: npm run --silent token -- --email /);
  expect(option.stderr.trim()).not.toContain('\n');
});

test('a seeded email and a lifetime give a token the server accepts, valid for that long', async () => {
  const { code, stdout, stderr } = await token('--email', 'clinician@second-clinic.com', '--expires', '30m');
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  const verify = await createTokenVerifier({
    key: { kind: 'secret', secret: TEST_JWT_SECRET },
    tenantClaim: 'tenant_id',
  });
  const claims = await verify(`Bearer ${stdout.trim()}`);
  expect(claims).toMatchObject(seedIdentity('clinician@second-clinic.com') ?? {});
  const payload = JSON.parse(Buffer.from(stdout.trim().split('.')[1] ?? '', 'base64url').toString()) as {
    iat: number;
    exp: number;
  };
  expect(payload.exp - payload.iat).toBe(30 * 60);
});

test('without JWT_SECRET, a DATA_DIR no server has used is refused, not given a secret of its own', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'token-cli-'));
  try {
    const refused = await tokenWith({ DATA_DIR: dataDir }, '--email', 'admin@test-clinic.com');
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr: `no development secret in ${dataDir}/dev-secrets.json: start the server once (npm start creates it), or set DATA_DIR to the server's (the DATA_DIR it was started with)\n`,
    });
    expect(existsSync(path.join(dataDir, 'dev-secrets.json'))).toBe(false);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
