import { randomUUID } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { stableUuid } from '../../src/db/seed.js';
import { startTestApp, type TestApp } from './app.js';
import { query } from './db.js';

// What the ruleset tests (integration/rulesets*.test.ts) share: their documents, and fixtures over
// the test file's own seeded app.

/** Test Clinic: the tenant the tests act in. */
export const A = stableUuid('tenant', 'test-clinic');
/** Second Clinic: the other tenant, whose rows must never show. */
export const B = stableUuid('tenant', 'second-clinic');
export const userId = (local: string, slug = 'test-clinic') => stableUuid(slug, 'user', local);
export const gid = (id: string) => encodeGlobalID('Ruleset', id);

export interface RulesetRow {
  id: string;
  uuid: string;
  payer: string;
  procedure: string;
  isActive: boolean;
  rules: { requirements: string[]; documentation: string[]; typicalTurnaround: string; notes: string | null };
  createdAt: string;
  updatedAt: string;
}

export const RULESET_FIELDS = /* GraphQL */ `
  id uuid payer procedure isActive createdAt updatedAt
  rules { requirements documentation typicalTurnaround notes }
`;
export const CREATE = /* GraphQL */ `
  mutation ($input: CreateRulesetInput!) {
    createRuleset(input: $input) {
      __typename
      ... on CreateRulesetPayload { ruleset { ${RULESET_FIELDS} } }
      ... on Error { message code }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;
export const UPDATE = /* GraphQL */ `
  mutation ($input: UpdateRulesetInput!) {
    updateRuleset(input: $input) {
      __typename
      ... on UpdateRulesetPayload { ruleset { ${RULESET_FIELDS} } }
      ... on Error { message code }
      ... on ValidationError { fieldErrors { path message } }
    }
  }`;
export const SET_ACTIVE = /* GraphQL */ `
  mutation ($input: SetRulesetActiveInput!) {
    setRulesetActive(input: $input) {
      __typename
      ... on SetRulesetActivePayload { ruleset { ${RULESET_FIELDS} } }
      ... on Error { message code }
    }
  }`;
export const LIST = /* GraphQL */ `
  query ($first: Int, $after: String, $filter: RulesetFilter) {
    rulesets(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { uuid payer procedure isActive } }
    }
  }`;

export type Connection = {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: { uuid: string; payer: string; procedure: string; isActive: boolean } }[];
};

export const RULES = {
  requirements: ['Physician order'],
  documentation: ['Clinical notes'],
  typicalTurnaround: '5 business days',
  notes: null,
};

/** The test file's app, started by `useRulesetsApp` (importers see it once the file's tests run). */
export let app: TestApp;

/** Starts the test file's seeded app before its tests, and closes it after them. */
export function useRulesetsApp(): void {
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());
}

export const sql = <R extends pg.QueryResultRow = Record<string, unknown>>(
  text: string,
  params: unknown[] = [],
) => query<R>(app.db.ownerUrl, text, params);

/** Rows of every table a ruleset mutation writes: a failed one must leave all three as they were. */
export const written = async () =>
  (
    await sql<{ rulesets: string; audits: number; events: number }>(
      `SELECT (SELECT md5(string_agg(r::text, ',' ORDER BY id)) FROM rulesets r) AS rulesets,
              (SELECT count(*)::int FROM audit_logs) AS audits,
              (SELECT count(*)::int FROM events) AS events`,
    )
  )[0];

/** A new ruleset of tenant A with a payer of its own (no other ruleset can conflict with it). */
export async function newRuleset(input: Record<string, unknown> = {}) {
  const res = await app.gql<{ createRuleset: { __typename: string; ruleset: RulesetRow } }>(CREATE, {
    input: { payer: `Payer ${randomUUID()}`, procedure: '72148', rules: RULES, ...input },
  });
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.createRuleset.__typename).toBe('CreateRulesetPayload');
  return res.body.data?.createRuleset.ruleset as RulesetRow;
}

/** The first ruleset (by id) of `tenant` that the SQL condition `where` holds for. */
export async function seededRuleset(where: string, tenant = A) {
  const [row] = await sql<{ id: string; payer: string; procedure: string; is_active: boolean }>(
    `SELECT id, payer, procedure, is_active FROM rulesets WHERE tenant_id = $1 AND ${where} ORDER BY id LIMIT 1`,
    [tenant],
  );
  if (!row) throw new Error(`no seeded ruleset where ${where}`);
  return row;
}
