import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TEST_JWT_SECRET, TEST_MEMBER_ID_HASH_KEY } from './app.js';

const READY_TIMEOUT_MS = 45_000;

/** The server as it runs in production: a process of its own, JSON log lines on stdout. */
export interface ServerProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>/graphql` */
  url: string;
  /** Every log line so far, parsed. */
  lines: Record<string, unknown>[];
  /**
   * The first log line `matches` accepts, once it is written (a response can arrive before its
   * request's line is read from the process's stdout); rejects after `timeoutMs`.
   */
  waitForLine(
    matches: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (null: killed by a signal) and when it came, in ms since epoch. */
  exited: Promise<{ code: number | null; at: number }>;
  kill(): void;
  /** SIGTERM, then resolves when the process has exited. */
  stop(): Promise<void>;
  /** The heap in use after a full collection (needs `--expose-gc --import ./tests/helpers/heap-reporter.mjs`). */
  heap(): Promise<{ heapUsed: number; rss: number }>;
}

/** What runs: the repository's `src/index.ts` through tsx, or a build of it elsewhere. */
export interface ServerProgram {
  cwd: string;
  /** Node's arguments after `nodeFlags`. */
  args: string[];
}

const SOURCE_PROGRAM: ServerProgram = { cwd: process.cwd(), args: ['--import', 'tsx', 'src/index.ts'] };

/**
 * Starts `src/index.ts` (or `program`) with `env` on a free port and waits for its `ready` line.
 * `nodeFlags` as `npm run start:prod` passes them (e.g. `--max-old-space-size=128`).
 */
export async function startServerProcess(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
  program: ServerProgram = SOURCE_PROGRAM,
): Promise<ServerProcess> {
  const child = spawnServer(databaseUrl, env, nodeFlags, program);
  const lines: Record<string, unknown>[] = [];
  const lineWaiters = new Set<() => void>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  let notReady: NodeJS.Timeout | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'ready' && typeof entry.url === 'string') resolve(entry.url);
      } catch {
        lines.push({ text: line });
      }
      for (const waiter of lineWaiters) waiter();
    });
    void exited.then(({ code }) => reject(new Error(`server exited early (${code}): ${stderr}`)));
    // A server that never says it is ready is not left running behind the test.
    notReady = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not ready within ${READY_TIMEOUT_MS} ms: ${stderr}`));
    }, READY_TIMEOUT_MS);
  }).finally(() => clearTimeout(notReady));
  return {
    child,
    url,
    lines,
    waitForLine: (matches, timeoutMs = 5_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find(matches);
          if (!line) return;
          stopWaiting();
          resolve(line);
        };
        const timer = setTimeout(() => {
          stopWaiting();
          reject(new Error(`no such log line within ${timeoutMs} ms`));
        }, timeoutMs);
        const stopWaiting = () => {
          clearTimeout(timer);
          lineWaiters.delete(check);
        };
        lineWaiters.add(check);
        check();
      }),
    exited,
    heap: () =>
      new Promise((resolve) => {
        child.once('message', (message) => resolve(message as { heapUsed: number; rss: number }));
        child.send('heap');
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function spawnServer(
  databaseUrl: string,
  env: Record<string, string>,
  nodeFlags: string[] = [],
  program: ServerProgram = SOURCE_PROGRAM,
): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, ...program.args], {
    cwd: program.cwd,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      MEMBER_ID_HASH_KEY: TEST_MEMBER_ID_HASH_KEY,
      ...env,
    },
    // An IPC channel, for a preloaded probe such as tests/helpers/heap-reporter.mjs.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}

/** A start expected to fail: what the process wrote, and its exit code. */
export interface FailedStart {
  code: number | null;
  /** stdout's lines (JSON log lines, in the test environment). */
  stdout: string[];
  /** stderr's lines. */
  stderr: string[];
}

/**
 * Runs `src/index.ts` as `startServerProcess` does, to its exit (killed after `timeoutMs`).
 * `onLine` sees each stdout line as it comes, with the process: to signal it at a given point.
 */
export async function runServerToExit(
  databaseUrl: string,
  env: Record<string, string> = {},
  options: { timeoutMs?: number; onLine?: (line: string, child: ChildProcess) => void } = {},
): Promise<FailedStart> {
  const child = spawnServer(databaseUrl, env);
  const stdout: string[] = [];
  let stderr = '';
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    stdout.push(line);
    options.onLine?.(line, child);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? READY_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr: stderr.split('\n').filter(Boolean) };
}
