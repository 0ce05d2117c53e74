import { encodeGlobalID } from '@pothos/plugin-relay';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { withTenant } from '../../src/db/tenant.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ALL_TABLES, query } from '../helpers/db.js';

const A = stableUuid('tenant', 'test-clinic');
const B = stableUuid('tenant', 'second-clinic');
const TENANT_TABLES = ALL_TABLES.filter((table) => table !== 'tenants');

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

describe('wall 1: the application scopes every read to the token’s tenant', () => {
  test('cases lists only the tenant’s own cases', async () => {
    const res = await app.gql<{ cases: { totalCount: number; edges: { node: { uuid: string } }[] } }>(
      `{ cases(first: 100) { totalCount edges { node { uuid } } } }`,
    );
    const ids = res.body.data?.cases.edges.map((e) => e.node.uuid) ?? [];
    const own = await query<{ id: string }>(app.db.ownerUrl, 'SELECT id FROM cases WHERE tenant_id = $1', [
      A,
    ]);
    expect(ids.sort()).toEqual(own.map((r) => r.id).sort());
    expect(res.body.data?.cases.totalCount).toBe(own.length);
  });

  test('another tenant’s ids behave as ids that do not exist, for case, node and nodes', async () => {
    const [other] = await query(
      app.db.ownerUrl,
      `SELECT (SELECT id FROM cases WHERE tenant_id = $1 LIMIT 1) AS "case",
              (SELECT id FROM tasks WHERE tenant_id = $1 LIMIT 1) AS task,
              (SELECT id FROM case_codes WHERE tenant_id = $1 LIMIT 1) AS code,
              (SELECT id FROM users WHERE tenant_id = $1 LIMIT 1) AS "user",
              (SELECT id FROM ingestions WHERE tenant_id = $1 LIMIT 1) AS ingestion`,
      [B],
    );
    const ids = [
      encodeGlobalID('Case', other?.case),
      encodeGlobalID('Task', other?.task),
      encodeGlobalID('CaseCode', other?.code),
      encodeGlobalID('User', other?.user),
      encodeGlobalID('Ingestion', other?.ingestion),
      encodeGlobalID('Tenant', B),
    ];
    const res = await app.gql(
      `query ($case: ID!, $ids: [ID!]!) { case(id: $case) { id } node(id: $case) { id } nodes(ids: $ids) { id } }`,
      { case: ids[0], ids },
    );
    expect(res.body).toEqual({ data: { case: null, node: null, nodes: ids.map(() => null) } });
  });

  test('a token whose tenant claim is not the user’s tenant is refused (401)', async () => {
    const { signToken } = await import('../../src/auth/jwt.js');
    const { TEST_JWT_SECRET } = await import('../helpers/app.js');
    const token = await signToken(
      TEST_JWT_SECRET,
      { authId: 'seed|admin@test-clinic.com', tenantId: B },
      { tenantClaim: 'tenant_id' },
    );
    const res = await app.gql(`{ me { email } }`, {}, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('wall 2: row-level security holds on its own, for the runtime role', () => {
  test('without the tenant setting, the runtime role sees no row of any tenant table', async () => {
    for (const table of [...TENANT_TABLES, 'tenants']) {
      expect(await query(app.db.runtimeUrl, `SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 0 }]);
    }
    // The owner sees them: the rows are there.
    expect((await query(app.db.ownerUrl, 'SELECT count(*)::int AS n FROM cases'))[0]?.n).toBeGreaterThan(0);
  });

  test('with the application’s filter removed, a tenant transaction still returns only that tenant’s rows', async () => {
    const rows = await withTenant(
      app.prisma,
      A,
      async (db) => ({
        cases: await db.case.findMany({ select: { tenantId: true } }),
        tasks: await db.task.findMany({ select: { tenantId: true } }),
        users: await db.user.findMany({ select: { tenantId: true } }),
        tenants: await db.tenant.findMany({ select: { id: true } }),
      }),
      { statementTimeoutMs: 5_000 },
    );
    expect(rows.cases.length).toBeGreaterThan(0);
    for (const list of [rows.cases, rows.tasks, rows.users])
      expect(new Set(list.map((r) => r.tenantId))).toEqual(new Set([A]));
    expect(rows.tenants).toEqual([{ id: A }]);
  });

  test('the setting ends with its transaction: the next transaction on the same connection sees nothing', async () => {
    const client = new pg.Client({ connectionString: app.db.runtimeUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT set_config('app.tenant_id', $1, true)", [A]);
      expect((await client.query('SELECT count(*)::int AS n FROM cases')).rows[0].n).toBeGreaterThan(0);
      await client.query('COMMIT');
      expect((await client.query('SELECT count(*)::int AS n FROM cases')).rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  test('a write naming another tenant is refused by the policy (WITH CHECK)', async () => {
    const [task] = await query<{ id: string }>(
      app.db.ownerUrl,
      'SELECT id FROM tasks WHERE tenant_id = $1 LIMIT 1',
      [A],
    );
    await expect(
      withTenant(app.prisma, A, (db) => db.task.update({ where: { id: task?.id }, data: { tenantId: B } }), {
        statementTimeoutMs: 5_000,
      }),
    ).rejects.toThrow();
    expect(await query(app.db.ownerUrl, 'SELECT tenant_id FROM tasks WHERE id = $1', [task?.id])).toEqual([
      { tenant_id: A },
    ]);
  });

  test('the runtime role cannot change what it must not: tenants, users, the audit trail', async () => {
    for (const sql of [
      'UPDATE tenants SET name = name',
      'DELETE FROM users',
      'DELETE FROM audit_logs',
      'UPDATE events SET metadata = NULL',
    ]) {
      await expect(query(app.db.runtimeUrl, sql)).rejects.toThrow(/permission denied/);
    }
  });
});

describe('every Node type and every mutation, driven from the schema', () => {
  const NODE_TABLES: Record<string, string> = {
    Tenant: 'tenants',
    User: 'users',
    Ingestion: 'ingestions',
    Case: 'cases',
    CaseCode: 'case_codes',
    Task: 'tasks',
    Ruleset: 'rulesets',
    Event: 'events',
    AuditLog: 'audit_logs',
  };
  const TABLES = Object.values(NODE_TABLES);

  /** Every row of tenant B, as text: equal digests mean B is untouched. */
  async function tenantBDigest(): Promise<string[]> {
    const digests: string[] = [];
    for (const table of TABLES) {
      const column = table === 'tenants' ? 'id' : 'tenant_id';
      const [row] = await query<{ d: string }>(
        app.db.ownerUrl,
        `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS d FROM ${table} t WHERE ${column} = $1`,
        [B],
      );
      digests.push(`${table}:${row?.d}`);
    }
    return digests;
  }

  async function rowOfB(table: string): Promise<string> {
    if (table === 'tenants') return B;
    const [row] = await query<{ id: string }>(
      app.db.ownerUrl,
      `SELECT id FROM ${table} WHERE tenant_id = $1 ORDER BY id LIMIT 1`,
      [B],
    );
    if (!row) throw new Error(`tenant B has no ${table}`);
    return row.id;
  }

  beforeAll(async () => {
    // The seed writes no audit rows: give tenant B one.
    await query(
      app.db.ownerUrl,
      `INSERT INTO audit_logs (id, tenant_id, action, entity_type, entity_id) VALUES (gen_random_uuid(), $1, 'view', 'case', gen_random_uuid())`,
      [B],
    );
  });

  test('each Node type is covered here', async () => {
    const { schema } = await import('../../src/schema/index.js');
    const nodeTypes = Object.values(schema.getTypeMap())
      .filter((type) => 'getInterfaces' in type && type.getInterfaces().some((i) => i.name === 'Node'))
      .map((type) => type.name)
      .sort();
    expect(nodeTypes).toEqual(Object.keys(NODE_TABLES).sort());
  });

  test.each(Object.entries(NODE_TABLES))(
    'a %s of tenant B is null through node and nodes',
    async (typename, table) => {
      const globalId = encodeGlobalID(typename, await rowOfB(table));
      const res = await app.gql(`query ($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }`, {
        id: globalId,
      });
      expect(res.body).toEqual({ data: { node: null, nodes: [null] } });
    },
  );

  const MUTATIONS: [string, () => Promise<string>][] = [
    [
      'createCase',
      async () =>
        `{ memberIdHash: "h", payer: "P", confidence: { overall: 1 }, extractedData: {}, ingestionId: "${encodeGlobalID('Ingestion', await rowOfB('ingestions'))}" }`,
    ],
    ['updateCase', async () => `{ id: "${encodeGlobalID('Case', await rowOfB('cases'))}", payer: "Stolen" }`],
    [
      'transitionCaseStatus',
      async () => `{ id: "${encodeGlobalID('Case', await rowOfB('cases'))}", status: DENIED }`,
    ],
    [
      'addCaseCode',
      async () =>
        `{ caseId: "${encodeGlobalID('Case', await rowOfB('cases'))}", code: { codeType: CPT, code: "99999" } }`,
    ],
    ['removeCaseCode', async () => `{ id: "${encodeGlobalID('CaseCode', await rowOfB('case_codes'))}" }`],
    ['deleteCase', async () => `{ id: "${encodeGlobalID('Case', await rowOfB('cases'))}" }`],
    ['createTask', async () => `{ caseId: "${encodeGlobalID('Case', await rowOfB('cases'))}", title: "T" }`],
    ['updateTask', async () => `{ id: "${encodeGlobalID('Task', await rowOfB('tasks'))}", title: "Stolen" }`],
    [
      'assignTask',
      async () => `{ id: "${encodeGlobalID('Task', await rowOfB('tasks'))}", assigneeId: null }`,
    ],
    [
      'transitionTaskStatus',
      async () => `{ id: "${encodeGlobalID('Task', await rowOfB('tasks'))}", status: CANCELLED }`,
    ],
    ['deleteTask', async () => `{ id: "${encodeGlobalID('Task', await rowOfB('tasks'))}" }`],
    [
      'updateRuleset',
      async () => `{ id: "${encodeGlobalID('Ruleset', await rowOfB('rulesets'))}", payer: "Stolen" }`,
    ],
    [
      'setRulesetActive',
      async () => `{ id: "${encodeGlobalID('Ruleset', await rowOfB('rulesets'))}", isActive: false }`,
    ],
    [
      'transitionIngestionStatus',
      async () => `{ id: "${encodeGlobalID('Ingestion', await rowOfB('ingestions'))}", status: PENDING }`,
    ],
    ['updateUser', async () => `{ id: "${encodeGlobalID('User', await rowOfB('users'))}", role: ADMIN }`],
    [
      'setUserActive',
      async () => `{ id: "${encodeGlobalID('User', await rowOfB('users'))}", isActive: false }`,
    ],
  ];

  test('each mutation that names a row is covered here (the creations of rulesets, ingestions and users name none)', async () => {
    const { schema } = await import('../../src/schema/index.js');
    const names = Object.keys(schema.getMutationType()?.getFields() ?? {}).filter(
      (n) => !['createRuleset', 'createIngestion', 'createUser'].includes(n),
    );
    expect(names.sort()).toEqual(MUTATIONS.map(([n]) => n).sort());
  });

  test.each(MUTATIONS)('%s with tenant B’s row is NotFoundError and B is unchanged', async (name, input) => {
    const before = await tenantBDigest();
    const res = await app.gql(`mutation { ${name}(input: ${await input()}) { __typename } }`);
    expect(res.body).toEqual({ data: { [name]: { __typename: 'NotFoundError' } } });
    expect(await tenantBDigest()).toEqual(before);
  });
});
