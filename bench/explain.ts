import pg from 'pg';
// @ts-expect-error: node-postgres' value serializer has no type declarations
import pgUtils from 'pg/lib/utils.js';
import type { SentStatement } from './inprocess.js';

export interface ExplainedStatement {
  sql: string;
  /** EXPLAIN (ANALYZE, BUFFERS) text. */
  plan: string;
  /** Median execution time over the repeats (EXPLAIN ANALYZE without per-node timing), ms. */
  executionMs: number;
  /**
   * Median planning time over the same repeats, ms: every execution of an unnamed statement pays
   * it; a prepared one (`prepared`), explained as its 7th execution, as the server runs it, mostly not.
   */
  planningMs: number;
  prepared: boolean;
  /** Index names the plan uses. */
  indexes: string[];
  /** Seq scans reading more than 1,000 rows, and sorts of more than 1,000 input rows (per loop). */
  problems: string[];
}

/** Statements of the RLS transaction itself: not data statements. */
const WRAPPER = /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SELECT set_config)/i;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

const median = (values: number[]) =>
  values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

function walk(node: PlanNode, visit: (node: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

/** Rows a node read in one of its loops: a scan of 25 users repeated 80 times reads 25 rows. */
const rowsPerLoop = (node: PlanNode) => (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0);

function findings(root: PlanNode): { indexes: string[]; problems: string[] } {
  const indexes = new Set<string>();
  const problems: string[] = [];
  walk(root, (node) => {
    if (node['Index Name']) indexes.add(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan' && rowsPerLoop(node) > 1000) {
      problems.push(`Seq Scan on ${node['Relation Name']} reading ${rowsPerLoop(node)} rows`);
    }
    if (node['Node Type'].includes('Sort')) {
      const input = (node.Plans ?? []).reduce((sum, child) => sum + rowsPerLoop(child), 0);
      if (input > 1000) problems.push(`${node['Node Type']} of ${input} input rows`);
    }
  });
  return { indexes: [...indexes].sort(), problems };
}

/**
 * EXPLAIN ANALYZE of every data statement a request sent, as the runtime role with the request's
 * tenant set (so RLS is in the plan), each in a transaction that is rolled back (M1 writes nothing).
 */
export async function explainStatements(
  runtimeUrl: string,
  tenantId: string,
  statements: SentStatement[],
  repeats = 15,
): Promise<ExplainedStatement[]> {
  // The request's own tenant, from its begin_request (M2 and M3 pick their users themselves).
  const opening = statements.find((s) => s.text.includes('begin_request'))?.text;
  const tenant = /begin_request\('([0-9a-f-]{36})'/.exec(opening ?? '')?.[1] ?? tenantId;
  const client = new pg.Client({ connectionString: runtimeUrl });
  await client.connect();
  const inTenant = async <T>(fn: () => Promise<T>): Promise<T> => {
    await client.query('BEGIN');
    try {
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [tenant]);
      return await fn();
    } finally {
      await client.query('ROLLBACK');
    }
  };
  try {
    const out: ExplainedStatement[] = [];
    for (const statement of statements) {
      if (WRAPPER.test(statement.text.trim())) continue;
      // A prepared statement is explained as the server runs it: after five executions, when
      // PostgreSQL may have switched to a generic plan (EXECUTE takes its values as literals).
      const name = `explained_${out.length}`;
      let target = statement.text;
      let values = statement.values;
      if (statement.prepared) {
        for (let i = 0; i < 6; i++)
          await inTenant(() => client.query({ name, text: statement.text, values }));
        const literal = (value: unknown) => {
          const prepared = pgUtils.prepareValue(value);
          return prepared === null ? 'NULL' : client.escapeLiteral(String(prepared));
        };
        target = `EXECUTE ${name}(${values.map(literal).join(', ')})`;
        values = [];
      }
      const plan = await inTenant(async () => {
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN (ANALYZE, BUFFERS) ${target}`,
          values,
        );
        return rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      const times: number[] = [];
      const planning: number[] = [];
      let root: PlanNode | undefined;
      for (let i = 0; i < repeats; i++) {
        const json = await inTenant(async () => {
          const { rows } = await client.query<{
            'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number; 'Planning Time': number }];
          }>(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${target}`, values);
          return rows[0]?.['QUERY PLAN'][0];
        });
        if (!json) continue;
        times.push(json['Execution Time']);
        planning.push(json['Planning Time']);
        root = json.Plan;
      }
      out.push({
        sql: statement.text,
        plan,
        executionMs: median(times),
        planningMs: median(planning),
        prepared: statement.prepared,
        ...(root ? findings(root) : { indexes: [], problems: ['no plan'] }),
      });
    }
    return out;
  } finally {
    await client.end();
  }
}
