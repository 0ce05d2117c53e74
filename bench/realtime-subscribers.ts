import { encodeCursor } from '../src/realtime/cursor.js';
import type { StartedServer } from './proc.js';
import { receive, type Subscriber } from './realtime-check.js';
import type { RequestContext } from './shapes.js';
import { openSse, type SseStream, streamAgent } from './sse-client.js';

/**
 * The realtime scenario's subscribers, as a careful client behaves: a stream that ends (the server
 * ends it after an error result, docs/realtime.md) is opened again with `after` = the last cursor
 * received, after a short pause, so that no change is missed.
 */

/** The selection of the issue (the change, the task as the subscriber may read it, the event row); `after` to resume. */
export const CHANGES_SUBSCRIPTION = `subscription BenchChanges($after: String) {
  changes(after: $after) { cursor kind entity entityId node { id ... on Task { status title } } event { eventType createdAt } }
}`;

/** Streams opened at once. */
const OPENING = 50;
/** A client whose stream ended subscribes again after this long. */
const RESUME_MS = 500;

export interface Listener extends Subscriber {
  token: string;
  url: URL;
  stream?: SseStream;
  /** Set for the subscribers accepted at the start: only those resume, and until close(). */
  resumable: boolean;
  /** Where a resumption starts when no change was received yet: the tenant's last cursor before the run. */
  start?: number;
}

export class Subscriptions {
  readonly listeners: Listener[] = [];
  private readonly agent: ReturnType<typeof streamAgent>;
  private closing = false;

  constructor(count: number) {
    this.agent = streamAgent(count);
  }

  /**
   * Subscriber i: tenant i mod T; within its tenant, the users in turn and the instances
   * alternating, so each tenant has as many subscribers on each instance and each user as many
   * streams. OPENING at a time; a refused one has no stream or another status than 200.
   */
  async open(options: {
    servers: StartedServer[];
    readers: RequestContext[];
    tenants: string[];
    count: number;
  }): Promise<void> {
    const { servers, tenants } = options;
    const users = new Map(tenants.map((t) => [t, options.readers.filter((r) => r.tenantId === t)]));
    let next = 0;
    const open = async () => {
      for (let i = next++; i < options.count; i = next++) {
        const k = Math.floor(i / tenants.length);
        const tenantId = tenants[i % tenants.length] as string;
        const tenantUsers = users.get(tenantId) ?? [];
        const instance = k % servers.length;
        const listener: Listener = {
          tenantId,
          instance,
          cursors: [],
          entityIds: [],
          receivedAt: [],
          errors: {},
          firstError: undefined,
          resumes: 0,
          nullNodes: 0,
          token: (tenantUsers[k % tenantUsers.length] as RequestContext).token,
          url: new URL((servers[instance] as StartedServer).url),
          resumable: false,
        };
        this.listeners.push(listener);
        await this.connect(listener);
      }
    };
    await Promise.all(Array.from({ length: OPENING }, open));
  }

  /** Every stream closed by the client; none resumes any more. */
  close(): void {
    this.closing = true;
    for (const listener of this.listeners) listener.stream?.close();
    this.agent.destroy();
  }

  private async connect(listener: Listener, after?: number): Promise<void> {
    const stream = await openSse({
      url: listener.url,
      agent: this.agent,
      token: listener.token,
      query: CHANGES_SUBSCRIPTION,
      variables: after === undefined ? {} : { after: encodeCursor(after) },
      onMessage: (data, at) => receive(listener, data, at),
    }).catch(() => undefined);
    listener.stream = stream;
    const again = () => {
      if (this.closing || !listener.resumable) return;
      listener.resumes++;
      setTimeout(() => void this.connect(listener, listener.cursors.at(-1) ?? listener.start), RESUME_MS);
    };
    if (stream?.status === 200) void stream.ended.then(again);
    else again();
  }
}
