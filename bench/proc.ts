import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** VmRSS of a process in MB, from /proc (Linux). */
export function rssMB(pid: number): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)\s+kB/);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process in ms. */
export function cpuMs(pid: number | string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** CPU ms of every process named `postgres` (the local cluster's backends and workers). */
export function postgresCpu(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      const ms = cpuMs(pid);
      if (ms !== null) out.set(pid, ms);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export function postgresCpuSince(before: Map<string, number>): number {
  let total = 0;
  for (const [pid, ms] of postgresCpu()) total += ms - (before.get(pid) ?? 0);
  return total;
}

export interface StartedServer {
  pid: number;
  child: ChildProcess;
  url: string;
  startMs: number;
  stop(): Promise<void>;
}

/** Starts `node <args>`, its output into `logFile`, and waits until GET /healthz answers 200. */
export async function startServer(options: {
  nodeArgs: string[];
  env: Record<string, string>;
  port: number;
  logFile: string;
  readyTimeoutMs?: number;
}): Promise<StartedServer> {
  const out = openSync(options.logFile, 'w');
  const child = spawn(process.execPath, options.nodeArgs, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error('the server did not start');
  let exited: string | null = null;
  const done = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `code ${code}, signal ${signal}`;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(killer);
  };
  const base = `http://127.0.0.1:${options.port}`;
  const started = Date.now();
  while (Date.now() - started < (options.readyTimeoutMs ?? 60_000)) {
    if (exited) throw new Error(`the server exited during start (${exited}); see ${options.logFile}`);
    try {
      const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return { pid, child, url: `${base}/graphql`, startMs: Date.now() - started, stop };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`the server did not answer on ${base} in time; see ${options.logFile}`);
}
