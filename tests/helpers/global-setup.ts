import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { deployMigrations } from '../../src/db/migrate.js';
import { ensureRuntimeLogin } from '../../src/db/roles.js';
import { databaseUrl, query, TEST_RUNTIME_LOGIN } from './db.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    templateDatabase: string;
  }
}

/**
 * The run's PostgreSQL: TEST_DATABASE_URL or DATABASE_URL (a role that may create databases and
 * roles), else an embedded server in a temporary directory. Migrates a template database once.
 */
export default async function setup(project: TestProject) {
  try {
    return await prepareDatabase(project);
  } catch (error) {
    // vitest 4.1 reports a failed global setup but still exits 0; CI must see it fail.
    console.error('Test database setup failed:', error);
    process.exit(1);
  }
}

async function prepareDatabase(project: TestProject) {
  let embedded: EmbeddedDatabase | undefined;
  let tempDir: string | undefined;
  let adminUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!adminUrl) {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'prior-auth-test-'));
    await chmod(tempDir, 0o755); // run as root, PostgreSQL runs as the `postgres` system user
    embedded = await startEmbeddedPostgres({
      dir: path.join(tempDir, 'pg'),
      ownerPassword: 'test-owner',
      runtimePassword: 'test-runtime',
      persistent: false,
    });
    adminUrl = embedded.ownerUrl;
  }
  const templateDatabase = `pa_test_template_${process.pid}`;
  await query(adminUrl, `DROP DATABASE IF EXISTS ${templateDatabase}`);
  await query(adminUrl, `CREATE DATABASE ${templateDatabase}`);
  await deployMigrations(databaseUrl(adminUrl, templateDatabase));
  await ensureRuntimeLogin(adminUrl, TEST_RUNTIME_LOGIN.user, TEST_RUNTIME_LOGIN.password);
  project.provide('adminUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);

  return async () => {
    await query(adminUrl, `DROP DATABASE IF EXISTS ${templateDatabase} WITH (FORCE)`);
    await embedded?.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };
}
