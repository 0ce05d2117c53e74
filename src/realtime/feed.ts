import type { Logger } from '../logger.js';
import { type ChangeRow, type ChangeSource, endsSubscription, type FeedFilter } from './changes.js';

/**
 * The change feed of one server instance: what the subscriptions of Subscription.changes read.
 *
 * A subscriber is a position (the last cursor it has passed) in its tenant's sequence of changes.
 * Cursors are dense and given out in commit order (migration 20261205000000), so a subscriber at
 * position n has seen every change up to n, and the changes after it are exactly
 * `cursor > n ORDER BY cursor`: the same read serves the replay of `after`, the live changes and
 * the catch-up after a lost fan-out connection, and nothing is missed or repeated across them.
 * A subscriber holds no queue: it reads when its client pulls (SSE and WebSocket backpressure), from
 * the tenant's recent changes in memory or, when it lags behind them, a page from the database.
 * The fan-out (src/realtime/fanout.ts) only wakes a tenant: "changes up to cursor c committed".
 */
export interface Subscriber {
  tenantId: string;
  userId: string;
  /** The last cursor the subscriber has passed: it receives the changes after it. */
  position: number;
  filter: FeedFilter;
}

/** A subscription refused by the feed; `code` is the GraphQL error code the client gets. */
export class SubscriptionLimitError extends Error {
  override name = 'SubscriptionLimitError';

  constructor(
    message: string,
    readonly code: 'TOO_MANY_SUBSCRIPTIONS' | 'SERVICE_UNAVAILABLE',
  ) {
    super(message);
  }
}

/** Recent changes kept per tenant with subscribers: a subscriber within them reads no database. */
const RECENT_MAX = 256;
/** Changes read at a time, from the database or memory: what one subscriber holds at most. */
const PAGE = 100;
/** A failed read of new changes is tried again after this long. */
const RETRY_MS = 1_000;
/**
 * Cursors a lagging subscriber's read spans at most. Cursors are dense, so a read of
 * (position, position + window] that passes the filter has seen every change of that range, and
 * the subscriber moves to its end even when none passed: a narrow filter replaying from far back
 * scans the tenant's changes a window at a time in the database, not page by page in the server.
 */
const SCAN_WINDOW = 2_000;
/**
 * Lagging subscribers' reads run at most this many at a time per instance: replays from far back
 * (`after` an old cursor) take turns, and cannot hold the pool's connections that live deliveries
 * and requests need.
 */
const CATCH_UP_READS = 2;

export class ChangeFeed {
  private readonly channels = new Map<string, TenantChannel>();
  private readonly perUser = new Map<string, number>();
  private readonly streams = new Set<ChangeStream>();
  private readonly catchUpReads = new TakeTurns(CATCH_UP_READS);
  private closed = false;

  constructor(
    private readonly source: ChangeSource,
    private readonly options: { maxPerUser: number; logger: Logger },
  ) {}

  /** Open streams, for the bench and tests. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * A stream of the tenant's changes after `subscriber.position` that pass its filter; `head` is
   * the tenant's last cursor as the subscriber's transaction read it. Throws
   * SubscriptionLimitError when the user has `maxPerUser` open already.
   */
  subscribe(subscriber: Subscriber, head: number): AsyncIterableIterator<ChangeRow> {
    if (this.closed)
      throw new SubscriptionLimitError('the server is shutting down: subscribe again', 'SERVICE_UNAVAILABLE');
    const open = this.perUser.get(subscriber.userId) ?? 0;
    if (open >= this.options.maxPerUser) {
      throw new SubscriptionLimitError(
        `At most ${this.options.maxPerUser} open subscriptions per user (MAX_SUBSCRIPTIONS_PER_USER): close one before opening another`,
        'TOO_MANY_SUBSCRIPTIONS',
      );
    }
    this.perUser.set(subscriber.userId, open + 1);
    let channel = this.channels.get(subscriber.tenantId);
    if (!channel) {
      channel = new TenantChannel(subscriber.tenantId, this.source, head, {
        logger: this.options.logger,
        catchUpReads: this.catchUpReads,
      });
      this.channels.set(subscriber.tenantId, channel);
    }
    // A change may have committed between the subscriber's read of the last cursor and now,
    // its notification heard by nobody: the tenant's new changes are read once more.
    channel.refresh();
    const stream = new ChangeStream(channel, subscriber, () => this.release(stream, subscriber));
    channel.streams.add(stream);
    this.streams.add(stream);
    return stream;
  }

  /** The fan-out: the tenant committed changes up to `cursor` (unknown: read what is new). */
  wake(tenantId: string, cursor?: number): void {
    const channel = this.channels.get(tenantId);
    if (channel && (cursor === undefined || cursor > channel.head)) channel.refresh();
  }

  /** The fan-out reconnected: notifications may have been lost, every tenant reads what is new. */
  wakeAll(): void {
    for (const channel of this.channels.values()) channel.refresh();
  }

  /** Shutdown: every stream completes (its client sees the end, not a cut connection). */
  close(): void {
    this.closed = true;
    for (const stream of [...this.streams]) void stream.return();
  }

  private release(stream: ChangeStream, subscriber: Subscriber): void {
    this.streams.delete(stream);
    const open = (this.perUser.get(subscriber.userId) ?? 1) - 1;
    if (open > 0) this.perUser.set(subscriber.userId, open);
    else this.perUser.delete(subscriber.userId);
    const channel = this.channels.get(subscriber.tenantId);
    channel?.streams.delete(stream);
    if (channel && channel.streams.size === 0) {
      channel.stop();
      this.channels.delete(subscriber.tenantId);
    }
  }
}

/** One tenant's changes as this instance knows them, while it has subscribers. */
class TenantChannel {
  readonly streams = new Set<ChangeStream>();
  /** The last change known committed. */
  head: number;
  /** The latest changes, every one after the first of them, ending at `head` (or empty). */
  private recent: ChangeRow[] = [];
  private waiters = new Set<() => void>();
  private reading = false;
  private readAgain = false;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A subscriber's read failed and none succeeded since (see `readFailed`). */
  private failing = false;

  private readonly logger: Logger;
  private readonly catchUpReads: TakeTurns;

  constructor(
    readonly tenantId: string,
    private readonly source: ChangeSource,
    head: number,
    options: { logger: Logger; catchUpReads: TakeTurns },
  ) {
    this.head = head;
    this.logger = options.logger;
    this.catchUpReads = options.catchUpReads;
  }

  /** Reads the changes after `head` (one read at a time; a wake during it reads once more). */
  refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    void this.readNew().finally(() => {
      this.reading = false;
      if (this.readAgain) {
        this.readAgain = false;
        this.refresh();
      }
    });
  }

  private async readNew(): Promise<void> {
    try {
      for (;;) {
        const rows = await this.source.after(this.tenantId, this.head, PAGE);
        if (this.stopped) return;
        if (rows.length > 0) this.append(rows);
        if (rows.length < PAGE) return;
      }
    } catch (error) {
      if (this.stopped) return;
      this.logger.warn({ cause: (error as Error).message }, 'reading new changes failed: trying again');
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.refresh(), RETRY_MS);
    }
  }

  private append(rows: ChangeRow[]): void {
    // Everything after `head` was read: the kept changes and these are all the changes since the first kept.
    this.recent.push(...rows);
    if (this.recent.length > RECENT_MAX) this.recent.splice(0, this.recent.length - RECENT_MAX);
    this.head = (rows.at(-1) as ChangeRow).cursor;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /**
   * Up to PAGE changes after `position`, and the cursor the subscriber has passed with them: from
   * memory when it holds them (unfiltered: the stream filters), else from the database, filtered
   * there, within SCAN_WINDOW cursors of `position` and never past `head` (committed, so every
   * cursor up to it is).
   */
  read(position: number, filter: FeedFilter): ChangeRead | Promise<ChangeRead> {
    if (position >= this.head) return { rows: [], through: position };
    const first = this.recent[0];
    if (first && first.cursor <= position + 1) {
      const start = firstAfter(this.recent, position);
      const rows = this.recent.slice(start, start + PAGE);
      return { rows, through: (rows.at(-1) as ChangeRow).cursor };
    }
    const upTo = Math.min(position + SCAN_WINDOW, this.head);
    return this.catchUpReads
      .run(() => this.source.after(this.tenantId, position, PAGE, { upTo, filter }))
      .then((rows) => {
        this.failing = false;
        return { rows, through: rows.length === PAGE ? (rows.at(-1) as ChangeRow).cursor : upTo };
      });
  }

  /** Resolves when `head` moves, or when `cancel` is called. */
  wait(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.waiters.add(wake);
    return {
      promise,
      cancel: () => {
        this.waiters.delete(wake);
        wake();
      },
    };
  }

  /** A subscriber's own read (behind the recent changes) failed: logged once until a read succeeds. */
  readFailed(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      { cause: (error as Error).message },
      'reading changes for a subscriber failed: trying again',
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }
}

/**
 * One subscriber's changes. An iterator rather than an async generator: `return()` (the client
 * went away, the server stops) must end it at once, also while it waits for the next change; a
 * generator would stay suspended, holding its place in the feed, until that change came.
 */
class ChangeStream implements AsyncIterableIterator<ChangeRow> {
  private pending: ChangeRow[] = [];
  private done = false;
  private cancelWait: (() => void) | undefined;

  constructor(
    private readonly channel: TenantChannel,
    private readonly subscriber: Subscriber,
    private readonly onEnd: () => void,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<ChangeRow> {
    return this;
  }

  async next(): Promise<IteratorResult<ChangeRow>> {
    while (!this.done) {
      const row = this.pending.shift();
      if (row) {
        // The subscriber's deactivation is its last change: delivered (as an error) and the end.
        if (endsSubscription(this.subscriber.filter, row)) {
          await this.return();
          return { done: false, value: row };
        }
        if (matches(this.subscriber.filter, row)) return { done: false, value: row };
        continue;
      }
      let read: ChangeRead;
      try {
        read = await this.channel.read(this.subscriber.position, this.subscriber.filter);
      } catch (error) {
        // The database could not answer (down, a statement timeout): tried again later, as the
        // channel's own reads are. Thrown, it would reach the client as "Unexpected error" once per
        // attempt, as fast as the client reads.
        if (this.done) break;
        this.channel.readFailed(error);
        await this.pause(RETRY_MS);
        continue;
      }
      if (this.done) break;
      if (read.through > this.subscriber.position) {
        this.pending = read.rows;
        this.subscriber.position = read.through;
        continue;
      }
      const wait = this.channel.wait();
      this.cancelWait = wait.cancel;
      await wait.promise;
      this.cancelWait = undefined;
    }
    return { done: true, value: undefined };
  }

  /** Resolves after `ms`, or at once when the stream ends. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.cancelWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.cancelWait = undefined;
  }

  async return(): Promise<IteratorResult<ChangeRow>> {
    if (!this.done) {
      this.done = true;
      this.pending = [];
      this.cancelWait?.();
      this.onEnd();
    }
    return { done: true, value: undefined };
  }
}

/** Changes read for a subscriber, and the cursor it has passed with them (the last it could see). */
interface ChangeRead {
  rows: ChangeRow[];
  through: number;
}

/** At most `limit` of the functions given to `run` run at a time; the others wait their turn, in order. */
class TakeTurns {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/** The index of the first of `rows` (in cursor order) after `position`. */
function firstAfter(rows: ChangeRow[], position: number): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((rows[middle] as ChangeRow).cursor <= position) low = middle + 1;
    else high = middle;
  }
  return low;
}

function matches(filter: FeedFilter, row: ChangeRow): boolean {
  if (filter.entityTypes && !filter.entityTypes.has(row.entityType ?? '')) return false;
  if (filter.caseId !== undefined && row.caseId !== filter.caseId) return false;
  if (filter.assigneeId !== undefined && !row.assigneeIds.includes(filter.assigneeId)) return false;
  return true;
}
