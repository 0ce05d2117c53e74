import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { operation, type RequestContext } from './shapes.js';
import { nextWork, recordWork, WORK_SHAPES, type WorkShape } from './work.js';

/**
 * The realtime scenario's writes: M2 and M3 in turn (transitionTaskStatus, assignTask on the
 * tasks bench/work.ts gives each request context), sent open-loop at a fixed rate whatever the
 * answers take, as clients of a busy clinic would. A task is never written by two requests at
 * once: its changes then commit in the order its requests were sent, which is how the scenario
 * matches each change to the mutation that made it (bench/realtime-check.ts).
 */
export interface SentMutation {
  tenantId: string;
  /** Global ID of the task: the change's `entityId`. */
  taskId: string;
  shape: WorkShape;
  /** performance.now() when the request was written, and when its answer was read. */
  sentAt: number;
  answeredAt: number;
  /** HTTP 200 with the payload's task: the change was committed. */
  ok: boolean;
  /** Why not: `HTTP <status>`, the first error's code, or the payload's typename. */
  failure?: string;
}

export interface WriteRun {
  mutations: SentMutation[];
  /** Sends skipped because every candidate task still had a request in flight. */
  skipped: number;
  durationS: number;
}

/**
 * Sends `rate` mutations a second for `durationS` seconds to `url` and resolves once every answer
 * came. The contexts' order is the rotation's (bench/work.ts): interleave tenants in it.
 */
export async function writeAtRate(options: {
  url: URL;
  contexts: RequestContext[];
  rate: number;
  durationS: number;
}): Promise<WriteRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const tenantOf = new Map(options.contexts.map((ctx) => [ctx.token, ctx.tenantId]));
  const documents = Object.fromEntries(WORK_SHAPES.map((shape) => [shape, operation(shape)])) as Record<
    WorkShape,
    string
  >;
  const inFlight = new Set<string>();
  const answers: Promise<void>[] = [];
  const mutations: SentMutation[] = [];
  let skipped = 0;
  let sent = 0;

  const sendOne = () => {
    const shape = WORK_SHAPES[sent % WORK_SHAPES.length] as WorkShape;
    // The rotation's next task whose last request was answered (one turn of the rotation at most).
    for (let tries = 0; tries < options.contexts.length; tries++) {
      const { token, variables } = nextWork(shape);
      const taskId = variables.taskId as string;
      if (inFlight.has(taskId)) continue;
      inFlight.add(taskId);
      const mutation: SentMutation = {
        tenantId: tenantOf.get(token) ?? '',
        taskId,
        shape,
        sentAt: performance.now(),
        answeredAt: 0,
        ok: false,
      };
      mutations.push(mutation);
      answers.push(
        post(options.url, agent, token, documents[shape], variables).then(({ status, body }) => {
          mutation.answeredAt = performance.now();
          mutation.ok = status === 200 && !body.includes('"errors"') && body.includes('"task"');
          if (!mutation.ok) mutation.failure = failureOf(status, body);
          recordWork(shape, body);
          inFlight.delete(taskId);
        }),
      );
      sent++;
      return;
    }
    skipped++;
    sent++;
  };

  const started = performance.now();
  const total = Math.round(options.rate * options.durationS);
  // Every few ms, as many as the rate owes by now: timer jitter does not change the rate.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const owed = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate) + 1);
      while (sent < owed) sendOne();
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 4);
  });
  await Promise.all(answers);
  agent.destroy();
  return { mutations, skipped, durationS: (performance.now() - started) / 1000 };
}

function post(
  url: URL,
  agent: http.Agent,
  token: string,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    // A failed request is an answer too: not ok, and its task free again.
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: error.code ?? error.message }),
    );
    request.end(body);
  });
}

function failureOf(status: number, body: string): string {
  if (status === 0) return `no answer: ${body}`;
  if (status !== 200) return `HTTP ${status}`;
  try {
    const answer = JSON.parse(body) as {
      errors?: { message: string; extensions?: { code?: string } }[];
      data?: Record<string, { __typename?: string } | null>;
    };
    const error = answer.errors?.[0];
    if (error) return error.extensions?.code ?? error.message.slice(0, 80);
    return Object.values(answer.data ?? {})[0]?.__typename ?? 'no task in the answer';
  } catch {
    return 'unreadable answer';
  }
}
