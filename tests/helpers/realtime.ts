import { signToken } from '../../src/auth/jwt.js';
import { seedIdentity } from '../../src/db/seed.js';
import { TEST_JWT_SECRET } from './app.js';

/** The selection the realtime tests subscribe with: every field of Change. */
export const CHANGES = `subscription ($entities: [ChangeEntity!], $caseId: ID, $assigneeId: ID, $after: String) {
  changes(entities: $entities, caseId: $caseId, assigneeId: $assigneeId, after: $after) {
    cursor kind entity entityId
    node { id ... on Case { payer extractedData } ... on Task { title assignee { email } } }
    event { eventType entityId user { email } }
  }
}`;

export interface ChangeResult {
  cursor: string;
  kind: string;
  entity: string;
  entityId: string;
  node: Record<string, unknown> | null;
  event: { eventType: string; entityId: string; user: { email: string } | null };
}

/** A token of a seeded user signed with the test secret, valid for `expiresIn` (jose's syntax). */
export async function tokenFor(email: string, expiresIn = '1h'): Promise<string> {
  const identity = seedIdentity(email);
  if (!identity) throw new Error(`not a seeded user: ${email}`);
  return signToken(TEST_JWT_SECRET, identity, { tenantClaim: 'tenant_id', expiresIn });
}

/** POSTs a GraphQL request to `url` as `email`; the parsed body. */
export async function post<T = Record<string, unknown>>(
  url: string,
  email: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokenFor(email)}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as never;
}

/** The tenant's change-feed cursor numbers as the client cannot see them: decoded for checks. */
export function cursorNumber(cursor: string): number {
  return Number(Buffer.from(cursor, 'base64url').toString().split(':')[1]);
}

export const CREATE_TASK = `mutation ($input: CreateTaskInput!) {
  createTask(input: $input) { __typename ... on CreateTaskPayload { task { id } } }
}`;
