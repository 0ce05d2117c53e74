// The section `npm run bench -- --realtime` writes into docs/benchmarks.md, as markdown.
import os from 'node:os';
import { BENCH_RUNTIME_LOGIN } from './db.js';
import type { ProfileSummary } from './profile.js';
import { REALTIME_SETUPS, type RealtimeOptions, type RealtimeResult } from './realtime.js';
import type { Distribution } from './realtime-check.js';
import { fmt, table } from './report.js';
import { SERVER_NODE_FLAGS } from './shapes.js';

/** The issue's targets (issue 14, item 5). */
export const REALTIME_TARGETS = { p99Ms: 100, kbPerIdleSubscriber: 50 };

const ms = (d: Distribution) => `${fmt(d.p50, 1)} / ${fmt(d.p99, 1)} / ${fmt(d.max, 0)}`;
const met = (ok: boolean) => (ok ? 'met' : '**not met**');

export function exact(r: RealtimeResult): boolean {
  const e = r.exactness;
  return (
    r.complete &&
    r.subscribers.refused === 0 &&
    e.lost + e.duplicated + e.outOfOrder + e.foreign + e.nullNodes === 0 &&
    e.received === e.expected
  );
}

export function realtimeMarkdown(
  results: RealtimeResult[],
  options: RealtimeOptions,
  context: { command: string; date: string; machine: string; redis: boolean; tenants: number },
): string {
  const first = results[0];
  const lines = [
    '### Realtime: Subscription.changes over SSE',
    '',
    `\`${context.command}\` on ${context.date.slice(0, 16).replace('T', ' ')} UTC. ${context.machine}.`,
    `Each setup: \`node ${SERVER_NODE_FLAGS.join(' ')} dist/index.js\` with NODE_ENV=production as ` +
      `\`${BENCH_RUNTIME_LOGIN.user}\` (RLS on), DB_POOL_MAX ${options.pool} per instance, ` +
      `${Object.entries(first?.env ?? {})
        .map(([k, v]) => `${k}=${k === 'REDIS_URL' ? 'redis://…' : v}`)
        .join(', ')}` +
      `${first && first.subscribers.perUser <= 10 ? ` (MAX_SUBSCRIPTIONS_PER_USER stays 10: ${first.subscribers.perUser} per user per instance)` : ''}. ` +
      `${options.subscribers.toLocaleString('en-US')} SSE subscribers (node:http, one socket each, in the runner's process) ` +
      `spread evenly over the ${context.tenants} tenants and all 25 users of each, split evenly across the instances; ` +
      `each \`changes { cursor kind entity entityId node { id ... on Task { status title } } event { eventType createdAt } }\`. ` +
      `Then ${options.rate} mutations/s for ${options.durationS} s, open loop, to the first instance: ` +
      'M2 and M3 in turn (`transitionTaskStatus`, `assignTask`) by the same 500 users, each on tasks of their own, tenants interleaved, ' +
      'a task never written by two requests at once. A subscriber whose stream ends (the server ends it after an error result) ' +
      'subscribes again 0.5 s later with `after` = the last cursor it received, as docs/realtime.md asks of clients. ' +
      'Before the subscribers, the same writes alone ' +
      `(3 s warm-up, 10 s measured) give their own CPU cost.` +
      (context.redis ? '' : ' Redis did not answer: no Redis setup.'),
    '',
    table(
      [
        'setup',
        'subscribers open (refused)',
        'writes ok / sent',
        'deliveries / expected',
        'lost / dup / out of order / foreign / null node',
        'error results (streams resumed)',
        'ms after answer p50 / p99 / max',
        'ms after send p50 / p99 / max',
        'last subscriber p50 / p99 ms',
        'drain s',
      ],
      results.map((r) => {
        const e = r.exactness;
        return [
          REALTIME_SETUPS[r.setup].title,
          `${r.subscribers.opened} (${r.subscribers.refused})`,
          `${r.writes.ok} / ${r.writes.sent}${r.writes.skipped ? ` (+${r.writes.skipped} skipped)` : ''}`,
          `${e.received.toLocaleString('en-US')} / ${e.expected.toLocaleString('en-US')}${r.complete ? '' : ' (gave up)'}`,
          `${e.lost}${r.complete ? '' : ' (not yet arrived: the wait ended)'} / ${e.duplicated} / ${e.outOfOrder} / ${e.foreign} / ${e.nullNodes}`,
          `${
            Object.entries(e.errors)
              .map(([code, n]) => `${n} ${code}`)
              .join(', ') || '0'
          } (${e.resumes})`,
          ms(r.latency.fromAnswer),
          ms(r.latency.fromSend),
          `${fmt(r.latency.lastSubscriber.p50, 1)} / ${fmt(r.latency.lastSubscriber.p99, 1)}`,
          fmt(r.drainS, 2),
        ];
      }),
    ),
    '',
    table(
      [
        'setup',
        'server CPU ms / delivery (net of the writes)',
        'writes alone ms / mutation',
        'PG CPU ms / delivery',
        'PG transactions / delivery',
        'RSS before → with idle subscribers MB (after GC)',
        'KB / idle subscriber: RSS (V8 heap)',
        'mutation answer p50 / p99 ms',
        'runner loop delay p99 ms',
        'CPU s of the run: servers / PG / runner / other processes (of the machine)',
      ],
      results.map((r) => [
        REALTIME_SETUPS[r.setup].title,
        `${fmt(r.cpu.perDeliveryMs, 3)} (${fmt(r.cpu.netPerDeliveryMs, 3)})`,
        fmt(r.baselineCpuMsPerMutation, 2),
        fmt(r.cpu.postgresPerDeliveryMs, 3),
        fmt(r.transactionsPerDelivery, 2),
        `${r.rss.beforeMB.map((x) => fmt(x, 0)).join(' + ')} → ${r.rss.idleMB.map((x) => fmt(x, 0)).join(' + ')}`,
        `${fmt(r.rss.kbPerIdleSubscriber, 1)} (${fmt(r.rss.heapKbPerIdleSubscriber, 1)})`,
        `${fmt(r.latency.answer.p50, 1)} / ${fmt(r.latency.answer.p99, 1)}`,
        fmt(r.clientLoopDelayP99Ms, 1),
        `${[r.cpu.serverMs, r.cpu.postgresMs, r.cpu.runnerMs, r.cpu.othersMs].map((ms) => fmt(ms === null ? null : ms / 1000, 0)).join(' / ')} ` +
          `(${fmt(r.cpu.machineMs / 1000, 0)} of ${fmt(r.cpu.windowS * os.cpus().length, 0)})`,
      ]),
    ),
    '',
    `**Targets** (p99 after the answer under ${REALTIME_TARGETS.p99Ms} ms, under ${REALTIME_TARGETS.kbPerIdleSubscriber} KB per idle subscriber, no change lost or duplicated):`,
    '',
    table(
      [
        'setup',
        `p99 < ${REALTIME_TARGETS.p99Ms} ms`,
        `< ${REALTIME_TARGETS.kbPerIdleSubscriber} KB / idle subscriber`,
        'every change once, in order',
      ],
      results.map((r) => [
        REALTIME_SETUPS[r.setup].title,
        `${met((r.latency.fromAnswer.p99 ?? Number.POSITIVE_INFINITY) < REALTIME_TARGETS.p99Ms)} (${fmt(r.latency.fromAnswer.p99, 0)} ms)`,
        `${met((r.rss.kbPerIdleSubscriber ?? Number.POSITIVE_INFINITY) < REALTIME_TARGETS.kbPerIdleSubscriber)} (${fmt(r.rss.kbPerIdleSubscriber, 1)} KB)`,
        met(exact(r)),
      ]),
    ),
  ];
  const failed = results.filter((r) => Object.keys(r.writes.failures).length > 0);
  if (failed.length > 0) {
    lines.push(
      '',
      `Writes that failed: ${failed
        .map(
          (r) =>
            `${REALTIME_SETUPS[r.setup].title}: ${Object.entries(r.writes.failures)
              .map(([why, n]) => `${n} × ${why}`)
              .join(', ')}`,
        )
        .join('; ')}.`,
    );
  }
  for (const r of results) {
    if (r.exits.length > 0)
      lines.push(
        '',
        `**${REALTIME_SETUPS[r.setup].title}: the server died during the run**: ${r.exits.join('; ')}.`,
      );
  }
  const firstError = results.map((r) => r.exactness.firstError).find(Boolean);
  if (firstError) lines.push('', `First error a subscriber received: \`${firstError.replaceAll('`', "'")}\``);
  return lines.join('\n');
}

/** Where the profiled instance's CPU went during the realtime setup (`--realtime-profile`). */
export function realtimeProfileMarkdown(
  summary: ProfileSummary,
  result: RealtimeResult,
  options: RealtimeOptions,
  command: string,
): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return [
    `### CPU profile of the server under the realtime load (${REALTIME_SETUPS[result.setup].title})`,
    '',
    `\`${command}\` on ${new Date().toISOString().slice(0, 10)}: \`node --cpu-prof ${SERVER_NODE_FLAGS.join(' ')} dist/index.js\`, ` +
      `the samples of the measured run only (${result.subscribers.opened} subscribers open, ` +
      `${options.rate} mutations/s for ${options.durationS} s, then the drain): ${result.exactness.received.toLocaleString('en-US')} deliveries ` +
      `(p99 ${fmt(result.latency.fromAnswer.p99, 0)} ms with the profiler on). ${fmt(summary.busyMs / 1000)} s of the ` +
      `${fmt(summary.totalMs / 1000)} s sampled were busy; shares below are of the busy time.`,
    '',
    '**Self time by package**',
    '',
    table(
      ['package', 'self ms', 'share'],
      summary.byPackage.slice(0, 15).map((e) => [e.name, fmt(e.selfMs, 0), pct(e.share)]),
    ),
    '',
    '**Inclusive time of parts** (lower bounds: after an `await` the stack restarts at the microtask queue)',
    '',
    table(
      ['part', 'ms', 'share'],
      summary.byPhase.map((e) => [e.name, fmt(e.selfMs, 0), pct(e.share)]),
    ),
    '',
    '**Top functions by self time**',
    '',
    table(
      ['function', 'self ms', 'share'],
      summary.byFunction.map((e) => [`\`${e.name.replaceAll('|', '\\|')}\``, fmt(e.selfMs, 0), pct(e.share)]),
    ),
  ].join('\n');
}
