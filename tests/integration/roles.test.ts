import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Action, PERMISSIONS } from '../../src/auth/permissions.js';
import { ROLES, type Role } from '../../src/domain/vocabulary.js';
import { schema } from '../../src/schema/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { query } from '../helpers/db.js';

// The role matrix, driven from src/auth/permissions.ts. Each mutation is called by each role with a
// well-formed input naming rows that do not exist: an allowed role gets past the role check (and
// then a NotFoundError or ValidationError), a refused role gets FORBIDDEN with the field's path,
// and nothing is written either way.

const NONE = '00000000-0000-4000-8000-000000000000';
const id = (type: string) => encodeGlobalID(type, NONE);

/** A sample input per mutation. A mutation added without one fails the first test below. */
const SAMPLES: Record<string, string> = {
  createCase: `{ memberIdHash: "h", payer: "P", confidence: { overall: 1 }, extractedData: {}, ingestionId: "${id('Ingestion')}" }`,
  updateCase: `{ id: "${id('Case')}", payer: "P" }`,
  transitionCaseStatus: `{ id: "${id('Case')}", status: APPROVED }`,
  addCaseCode: `{ caseId: "${id('Case')}", code: { codeType: CPT, code: "1" } }`,
  removeCaseCode: `{ id: "${id('CaseCode')}" }`,
  deleteCase: `{ id: "${id('Case')}" }`,
  createTask: `{ caseId: "${id('Case')}", title: "T" }`,
  updateTask: `{ id: "${id('Task')}", title: "T" }`,
  assignTask: `{ id: "${id('Task')}", assigneeId: null }`,
  transitionTaskStatus: `{ id: "${id('Task')}", status: COMPLETED }`,
  deleteTask: `{ id: "${id('Task')}" }`,
  createRuleset: `{ payer: "", procedure: "", rules: { requirements: [], documentation: [], typicalTurnaround: "" } }`,
  updateRuleset: `{ id: "${id('Ruleset')}", payer: "P" }`,
  setRulesetActive: `{ id: "${id('Ruleset')}", isActive: true }`,
  createUser: `{ email: "", role: STAFF, authId: "" }`,
  updateUser: `{ id: "${id('User')}", name: "N" }`,
  setUserActive: `{ id: "${id('User')}", isActive: false }`,
  createIngestion: `{ sourceType: EMAIL, sourceMetadata: [] }`,
  transitionIngestionStatus: `{ id: "${id('Ingestion')}", status: PROCESSING }`,
};

const mutationFields = Object.values(schema.getMutationType()?.getFields() ?? {});

function actionOf(fieldName: string): Action | undefined {
  const field = schema.getMutationType()?.getFields()[fieldName];
  const scopes = (field?.extensions as { pothosOptions?: { authScopes?: { can?: Action } } })?.pothosOptions
    ?.authScopes;
  return scopes?.can;
}

/** The seeded user of each role: the service's is the intake pipeline's. */
const emailOf = (role: Role) => (role === 'service' ? 'intake@test-clinic.com' : `${role}@test-clinic.com`);

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app?.close());

test('every mutation names its action in the matrix, and has a sample here', () => {
  const missing = mutationFields
    .filter((f) => !actionOf(f.name) || !((actionOf(f.name) as string) in PERMISSIONS) || !SAMPLES[f.name])
    .map((f) => f.name);
  expect(missing).toEqual([]);
});

const cases = mutationFields.flatMap((field) => ROLES.map((role) => [field.name, role] as const));

describe.each(cases)('%s as %s', (name, role) => {
  test('allowed exactly as the matrix says, and writes nothing here', async () => {
    const action = actionOf(name) as Action;
    const allowed = (PERMISSIONS[action] as readonly Role[]).includes(role);
    const before = await query(
      app.db.ownerUrl,
      'SELECT (SELECT count(*) FROM audit_logs)::int AS a, (SELECT count(*) FROM events)::int AS e',
    );
    const res = await app.gql(
      `mutation { ${name}(input: ${SAMPLES[name]}) { __typename } }`,
      {},
      { email: emailOf(role) },
    );
    if (allowed) {
      expect(res.body.errors).toBeUndefined();
      const result = res.body.data?.[name] as { __typename: string } | undefined;
      expect(['NotFoundError', 'ValidationError']).toContain(result?.__typename);
    } else {
      expect(res.body.data).toBeNull();
      expect(res.body.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['FORBIDDEN', [name]]]);
    }
    expect(
      await query(
        app.db.ownerUrl,
        'SELECT (SELECT count(*) FROM audit_logs)::int AS a, (SELECT count(*) FROM events)::int AS e',
      ),
    ).toEqual(before);
  });
});

test('Case.extractedData is null, not an error, for roles without case:readExtractedData', async () => {
  for (const role of ROLES) {
    const res = await app.gql<{ cases: { edges: { node: { extractedData: unknown } }[] } }>(
      '{ cases(first: 1) { edges { node { extractedData } } } }',
      {},
      { email: emailOf(role) },
    );
    expect(res.body.errors).toBeUndefined();
    const value = res.body.data?.cases.edges[0]?.node.extractedData;
    if ((PERMISSIONS['case:readExtractedData'] as readonly Role[]).includes(role))
      expect(value).not.toBeNull();
    else expect(value).toBeNull();
  }
});

test('auditLogs, and an audit row through node(id), only for roles with auditLog:read; FORBIDDEN for the others', async () => {
  const [row] = await query<{ id: string }>(app.db.ownerUrl, 'SELECT id FROM audit_logs ORDER BY id LIMIT 1');
  const auditId = encodeGlobalID('AuditLog', row?.id as string);
  for (const role of ROLES) {
    const allowed = (PERMISSIONS['auditLog:read'] as readonly Role[]).includes(role);
    const list = await app.gql('{ auditLogs(first: 1) { totalCount } }', {}, { email: emailOf(role) });
    const node = await app.gql(
      'query ($id: ID!) { node(id: $id) { id } }',
      { id: auditId },
      { email: emailOf(role) },
    );
    if (allowed) {
      expect(list.body.errors, role).toBeUndefined();
      expect(node.body.data, role).toEqual({ node: { id: auditId } });
    } else {
      expect(
        list.body.errors?.map((e) => [e.extensions?.code, e.path]),
        role,
      ).toEqual([['FORBIDDEN', ['auditLogs']]]);
      expect(
        node.body.errors?.map((e) => e.extensions?.code),
        role,
      ).toEqual(['FORBIDDEN']);
    }
  }
});
