import { Redis } from 'ioredis';
import pg from 'pg';
import type { CommitListener } from '../db/tenant.js';
import type { Logger } from '../logger.js';
import type { ChangeFeed } from './feed.js';

/**
 * How the change feeds of all server instances learn that a tenant committed changes: a wake-up
 * `<tenant>:<cursor>` per change, never the change itself (the feed reads it from the database,
 * where the subscriber's cursor says where to start). So a lost wake-up loses nothing: after a
 * reconnection every tenant reads what is new (`wakeAll`).
 */
export interface ChangeFanout extends CommitListener {
  close(): Promise<void>;
}

/** NOTIFY's channel (migration 20261205000000) and Redis's. */
const CHANNEL = 'changes';
const REDIS_CHANNEL = 'prior-auth:changes';
/** The LISTEN connection's application_name. */
export const LISTEN_APPLICATION_NAME = 'prior-auth-change-feed';
/** The listening connection is checked this often: a silent network failure is found. */
const CHECK_MS = 10_000;
/** Reconnection attempts back off from the first to the last of these. */
const BACKOFF_MS = [250, 500, 1_000, 2_000, 5_000];

function parseWakeUp(feed: ChangeFeed, payload: string | undefined): void {
  const [tenantId, cursor] = (payload ?? '').split(':');
  if (!tenantId) return;
  const number = Number(cursor);
  feed.wake(tenantId, Number.isSafeInteger(number) ? number : undefined);
}

/**
 * PostgreSQL LISTEN on one connection of its own (`url`: DATABASE_LISTEN_URL, not a transaction
 * pooler), re-established with back-off when it breaks or stops answering.
 */
export function listenWithPostgres(url: string, feed: ChangeFeed, logger: Logger): ChangeFanout {
  let client: pg.Client | undefined;
  let closed = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let lost = false;
  // Every CHECK_MS: the connection answers, and its backend still listens. Through a transaction
  // pooler (PgBouncer) the statement may reach a backend that never ran LISTEN: nothing would be
  // heard, silently. That is logged, with what to do, and the connection is made again.
  const check = setInterval(() => {
    if (!client) return;
    const current = client;
    const timeout = setTimeout(
      () => current.emit('error', new Error('the listening connection stopped answering')),
      CHECK_MS / 2,
    );
    current
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_listening_channels() c WHERE c = '${CHANNEL}'`)
      .then(
        ({ rows }) => {
          clearTimeout(timeout);
          if (rows[0]?.n !== 0) return;
          logger.error(
            "the change feed's LISTEN is not held by the backend that answers: DATABASE_LISTEN_URL (else DATABASE_URL) must be a direct or session-mode URL, not a transaction pooler",
          );
          current.emit('error', new Error('LISTEN not held'));
        },
        () => clearTimeout(timeout),
      );
  }, CHECK_MS);
  check.unref();
  const connect = async () => {
    if (closed) return;
    // Named, so that an operator (and the tests) can tell it in pg_stat_activity.
    const next = new pg.Client({
      connectionString: url,
      keepAlive: true,
      application_name: LISTEN_APPLICATION_NAME,
    });
    // Once per connection: its 'error' is followed by its 'end' (also the one `end()` below
    // brings), and a failed connect() rejects after its 'error'. Each used to schedule a
    // reconnection of its own: two connections listened after every loss, one never closed.
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      if (client !== next && client !== undefined) return;
      client = undefined;
      next.removeAllListeners('notification');
      void next.end().catch(() => undefined);
      if (closed) return;
      if (!lost)
        logger.warn({ cause: error.message }, 'the change feed lost its LISTEN connection: reconnecting');
      lost = true;
      const delay = BACKOFF_MS[Math.min(attempt++, BACKOFF_MS.length - 1)];
      reconnectTimer = setTimeout(() => void connect(), delay);
    };
    next.on('error', fail);
    next.on('end', () => fail(new Error('connection ended')));
    next.on('notification', (message) => parseWakeUp(feed, message.payload));
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      if (closed) {
        await next.end();
        return;
      }
      client = next;
      attempt = 0;
      if (lost) logger.info('the change feed listens again: catching its subscribers up');
      lost = false;
      // Whatever was committed while nobody listened.
      feed.wakeAll();
    } catch (error) {
      fail(error as Error);
    }
  };
  void connect();
  return {
    committed: () => undefined,
    notifies: true,
    async close() {
      closed = true;
      clearInterval(check);
      clearTimeout(reconnectTimer);
      await client?.end().catch(() => undefined);
    },
  };
}

/** Redis PUBLISH/SUBSCRIBE (REDIS_URL): one connection subscribes, one publishes. */
export function fanOutWithRedis(url: string, feed: ChangeFeed, logger: Logger): ChangeFanout {
  // The subscription is queued until the first connection; ioredis renews it after a reconnection.
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  // A publication is not queued: one that fails is kept by tenant and sent once Redis is back.
  const publisher = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const unpublished = new Set<string>();
  // This instance's commits wake its own feed at once, without Redis (which may be down): its own
  // publications coming back are ignored. The message is `<tenant>:<instance>`; an instance of the
  // release before, reading the second part as an unknown cursor, reads the tenant's new changes.
  const instance = crypto.randomUUID();
  let lost = false;
  for (const [name, connection] of [
    ['subscribe', subscriber],
    ['publish', publisher],
  ] as const) {
    connection.on('error', (error: Error) => {
      if (!lost)
        logger.warn({ cause: error.message, connection: name }, 'the change feed lost Redis: reconnecting');
      lost = true;
    });
  }
  const publish = (tenantId: string) => {
    publisher.publish(REDIS_CHANNEL, `${tenantId}:${instance}`).catch(() => unpublished.add(tenantId));
  };
  publisher.on('ready', () => {
    const tenants = [...unpublished];
    unpublished.clear();
    for (const tenantId of tenants) publish(tenantId);
  });
  subscriber.on('message', (_channel: string, message: string) => {
    if (!message.endsWith(`:${instance}`)) parseWakeUp(feed, message);
  });
  // Whatever was published while this instance did not listen is read (also on the first start).
  subscriber.on('ready', () => {
    if (lost) logger.info('the change feed reached Redis again: catching its subscribers up');
    lost = false;
    feed.wakeAll();
  });
  void subscriber
    .subscribe(REDIS_CHANNEL)
    .catch((error: Error) =>
      logger.error({ cause: error.message }, 'the change feed could not subscribe to Redis'),
    );
  return {
    committed: (tenantId) => {
      feed.wake(tenantId);
      publish(tenantId);
    },
    notifies: false,
    async close() {
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
