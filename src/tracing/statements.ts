import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { createTextKeyedCache } from '../bounded-cache.js';
import type { StatementTracer } from '../db/client.js';

/**
 * A span for each SQL statement a request or a delivery sends, Prisma's and ours alike: they all
 * pass one place, the queue of a checked-out connection (src/db/client.ts). The span carries the
 * statement's text with every literal replaced by `?` (`sanitizeSql`), never its parameters: a
 * parameter may be a member id hash, a filter value or extracted clinical data, and a literal
 * written into the text (the tenant and subject of `begin_request`) is a value too.
 *
 * Only the statements of a request or a delivery reach it (src/db/client.ts), and those of a
 * sampled one make a span: the others (start-up, the change feed's reads in the background) would
 * each start a trace of their own, of one span, for nothing.
 */
export function createStatementTracer(tracer: Tracer): StatementTracer {
  // Compiled and prepared statements repeat: each text is sanitized once.
  const sanitized = createTextKeyedCache<string>({
    maxBytes: 4 * 1024 * 1024,
    weigh: (sql, text) => 2 * (sql.length + text.length),
  });
  return (sql, send) => {
    const parent = context.active();
    if (!trace.getSpan(parent)?.isRecording()) return send();
    let text = sanitized.get(sql);
    if (text === undefined) {
      text = sanitizeSql(sql);
      sanitized.set(sql, text);
    }
    // From the sanitized text: a literal never names the span.
    const operation = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
    const table = TABLE_STATEMENTS.has(operation) ? tableOf(text) : undefined;
    const span = tracer.startSpan(
      table ? `${operation} ${table}` : operation,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.operation.name': operation,
          ...(table ? { 'db.collection.name': table } : {}),
          'db.query.text': text,
        },
      },
      parent,
    );
    return send().then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        // The SQLSTATE or the error's class, never its message: PostgreSQL quotes values in it.
        const code = (error as { code?: unknown }).code;
        const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('error.type', sqlState ?? (error as Error).name ?? 'Error');
        if (sqlState) span.setAttribute('db.response.status_code', sqlState);
        span.end();
        throw error;
      },
    );
  };
}

/**
 * One lexical token of PostgreSQL's SQL, in the order they must be tried: quoted identifiers,
 * then the literals (escape strings E'…' before plain ones, whose backslashes are plain
 * characters; dollar-quoted strings before parameters), then words whole (so that the digits in
 * `request_sp_1` are not taken for a number), numbers and comments.
 */
const SQL_TOKEN =
  /("(?:[^"]|"")*")|([Ee]'(?:[^'\\]|\\[\s\S]|'')*'|'(?:[^']|'')*')|(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\4\$)|(\$\d+)|([A-Za-z_][A-Za-z0-9_$]*)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(--[^\n]*|\/\*[\s\S]*?\*\/)/g;

/**
 * `sql` with every literal (string, dollar-quoted string, number) replaced by `?` and comments
 * removed; identifiers, keywords and parameters (`$1`) kept: what a statement does, none of the
 * values it does it with.
 */
export function sanitizeSql(sql: string): string {
  return sql.replace(
    SQL_TOKEN,
    (token, identifier, string, dollarQuoted, _tag, parameter, word, number, comment) => {
      if (string !== undefined || dollarQuoted !== undefined || number !== undefined) return '?';
      if (comment !== undefined) return '';
      return identifier ?? parameter ?? word ?? token;
    },
  );
}

/** The statements whose span is named after their first table as well. */
const TABLE_STATEMENTS = new Set(['SELECT', 'WITH', 'INSERT', 'UPDATE', 'DELETE']);

/** The first table a statement names (`FROM`, `INTO`, `UPDATE`, `JOIN`), without its schema or quotes. */
function tableOf(sql: string): string | undefined {
  const match =
    /\b(?:FROM|INTO|UPDATE|JOIN)\s+((?:"(?:[^"]|"")+"|[A-Za-z_]\w*)(?:\.(?:"(?:[^"]|"")+"|[A-Za-z_]\w*))?)/i.exec(
      sql,
    );
  const name = match?.[1]?.split('.').at(-1);
  return name?.replace(/^"|"$/g, '').replaceAll('""', '"');
}
