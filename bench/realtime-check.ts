import type { SentMutation } from './realtime-writes.js';

/**
 * What the realtime scenario checks and measures from what its subscribers received: that each
 * received exactly its tenant's changes, each once, in increasing cursor order, and how long after
 * its mutation each change arrived.
 */
export interface Subscriber {
  tenantId: string;
  instance: number;
  /** Per change received, in arrival order: its decoded cursor, entityId and arrival time. */
  cursors: number[];
  entityIds: string[];
  receivedAt: number[];
  /**
   * Results with `errors` by code (the server ends the stream after one: the client subscribes
   * again with `after`, bench/realtime.ts), and the first one's message.
   */
  errors: Record<string, number>;
  firstError: string | undefined;
  /** Subscriptions opened again with `after` once a stream ended during the run. */
  resumes: number;
  /** Changes whose `node` was null (a task updated, never deleted, here: each one a fault). */
  nullNodes: number;
}

/** The change feed's cursor inside its opaque text: base64url of `change:<n>` (src/realtime/cursor.ts). */
export function decodeCursor(text: string): number {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  return decoded.startsWith('change:') ? Number(decoded.slice(7)) : Number.NaN;
}

interface ChangeMessage {
  data?: { changes?: { cursor: string; entityId: string; node: { id: string } | null } | null } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Records one `next` message of the subscriber's stream. */
export function receive(subscriber: Subscriber, data: string, receivedAt: number): void {
  const result = JSON.parse(data) as ChangeMessage;
  const change = result.data?.changes;
  if (result.errors?.length || !change) {
    const error = result.errors?.[0];
    const code = error?.extensions?.code ?? 'no code';
    subscriber.errors[code] = (subscriber.errors[code] ?? 0) + 1;
    subscriber.firstError ??= error?.message ?? data.slice(0, 200);
    return;
  }
  subscriber.cursors.push(decodeCursor(change.cursor));
  subscriber.entityIds.push(change.entityId);
  subscriber.receivedAt.push(receivedAt);
  if (change.node === null) subscriber.nullNodes++;
}

export interface Exactness {
  /** Changes committed in the subscribers' tenants during the run, times their subscribers. */
  expected: number;
  received: number;
  /** Expected changes a subscriber never received. */
  lost: number;
  /** Changes a subscriber received more than once (each repeat counted). */
  duplicated: number;
  /** Changes that came after one with a greater or equal cursor. */
  outOfOrder: number;
  /** Changes outside the tenant's range of the run, or of a task of another tenant. */
  foreign: number;
  /** Error results by code, and resumptions: what the clients went through, not faults. */
  errors: Record<string, number>;
  firstError: string | undefined;
  resumes: number;
  nullNodes: number;
  /** Subscribers with any of the faults above. */
  faultySubscribers: number;
}

/** Per tenant, the changes the run committed: cursor → the global ID of the task it changed. */
export type Committed = Map<string, Map<number, string>>;

/**
 * Every subscriber of tenant T must receive exactly the cursors (start_T, end_T], in order, each
 * with the task the events row names: cursors are dense per tenant (migration 20261205000000), so
 * that range is exactly T's changes of the run.
 */
export function checkExactness(
  subscribers: Subscriber[],
  range: Map<string, { start: number; end: number }>,
  committed: Committed,
): Exactness {
  const out: Exactness = {
    expected: 0,
    received: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    foreign: 0,
    errors: {},
    firstError: undefined,
    resumes: 0,
    nullNodes: 0,
    faultySubscribers: 0,
  };
  for (const s of subscribers) {
    const { start, end } = range.get(s.tenantId) ?? { start: 0, end: 0 };
    const changes = committed.get(s.tenantId);
    const seen = new Set<number>();
    let faults = s.nullNodes;
    s.cursors.forEach((cursor, i) => {
      const foreign =
        !(cursor > start && cursor <= end) || changes?.get(cursor) !== (s.entityIds[i] as string);
      const repeated = !foreign && seen.has(cursor);
      const backwards = i > 0 && cursor <= (s.cursors[i - 1] as number);
      if (foreign) out.foreign++;
      if (repeated) out.duplicated++;
      if (backwards) out.outOfOrder++;
      if (foreign || repeated || backwards) faults++;
      seen.add(cursor);
    });
    let lost = 0;
    for (let cursor = start + 1; cursor <= end; cursor++) if (!seen.has(cursor)) lost++;
    out.expected += end - start;
    out.received += s.cursors.length;
    out.lost += lost;
    for (const [code, n] of Object.entries(s.errors)) out.errors[code] = (out.errors[code] ?? 0) + n;
    out.firstError ??= s.firstError;
    out.resumes += s.resumes;
    out.nullNodes += s.nullNodes;
    if (faults + lost > 0) out.faultySubscribers++;
  }
  return out;
}

export interface Distribution {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export function distribution(values: number[]): Distribution {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted.length === 0
      ? null
      : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? null);
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export interface Latency {
  /** Receipt − the mutation's answer read by the writer: the commit happened before the answer. */
  fromAnswer: Distribution;
  /** Receipt − the mutation's request sent: the commit happened after it. */
  fromSend: Distribution;
  /** Per change, the last of its tenant's subscribers to receive it, from the answer. */
  lastSubscriber: Distribution;
  /** Deliveries read before their mutation's answer (possible: both leave the server after COMMIT). */
  beforeAnswer: number;
  /** Changes no successful mutation could be matched to (their deliveries are not timed). */
  unmatched: number;
  /** The mutations' own answer time, send to answer. */
  answer: Distribution;
}

/**
 * Matches each change to its mutation, then times each delivery. A task's requests never overlap
 * (bench/realtime-writes.ts), so its changes commit in the order its successful requests were
 * sent: the task's k-th change (by cursor, as the events table holds them) is its k-th
 * successful mutation.
 */
export function measureLatency(
  subscribers: Subscriber[],
  mutations: SentMutation[],
  committed: Committed,
): Latency {
  const okByTask = new Map<string, SentMutation[]>();
  for (const m of mutations) {
    if (!m.ok) continue;
    const list = okByTask.get(m.taskId) ?? [];
    list.push(m);
    okByTask.set(m.taskId, list);
  }
  const mutationOf = new Map<string, SentMutation>();
  let unmatched = 0;
  for (const [tenantId, byCursor] of committed) {
    const cursorsByTask = new Map<string, number[]>();
    for (const [cursor, taskId] of [...byCursor].sort((a, b) => a[0] - b[0])) {
      const list = cursorsByTask.get(taskId) ?? [];
      list.push(cursor);
      cursorsByTask.set(taskId, list);
    }
    for (const [taskId, cursors] of cursorsByTask) {
      const sent = okByTask.get(taskId) ?? [];
      // A count that differs means some answer was misread: no pairing of that task is trusted.
      if (sent.length !== cursors.length) {
        unmatched += cursors.length;
        continue;
      }
      cursors.forEach((cursor, k) => {
        mutationOf.set(`${tenantId}:${cursor}`, sent[k] as SentMutation);
      });
    }
  }
  const fromAnswer: number[] = [];
  const fromSend: number[] = [];
  const last = new Map<string, number>();
  let beforeAnswer = 0;
  for (const s of subscribers) {
    s.cursors.forEach((cursor, i) => {
      const key = `${s.tenantId}:${cursor}`;
      const m = mutationOf.get(key);
      if (!m) return;
      const at = s.receivedAt[i] as number;
      fromAnswer.push(at - m.answeredAt);
      fromSend.push(at - m.sentAt);
      if (at < m.answeredAt) beforeAnswer++;
      last.set(key, Math.max(last.get(key) ?? Number.NEGATIVE_INFINITY, at - m.answeredAt));
    });
  }
  return {
    fromAnswer: distribution(fromAnswer),
    fromSend: distribution(fromSend),
    lastSubscriber: distribution([...last.values()]),
    beforeAnswer,
    unmatched,
    answer: distribution(mutations.filter((m) => m.ok).map((m) => m.answeredAt - m.sentAt)),
  };
}
