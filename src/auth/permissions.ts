import type { Role } from '../domain/vocabulary.js';

/**
 * The role matrix of API.md, in one table: who may attempt each action. Row-level rules (STAFF
 * only on their own tasks) are applied by the services, which see the row. Every mutation names
 * its action through `authScopes: { can: '<action>' }`; a test fails for a mutation without one.
 */
export const PERMISSIONS = {
  'case:create': ['clinician', 'admin'],
  'case:update': ['clinician', 'admin'],
  'case:transition': ['clinician', 'admin'],
  'case:reopen': ['admin'],
  'case:delete': ['admin'],
  'caseCode:add': ['clinician', 'admin'],
  'caseCode:remove': ['clinician', 'admin'],
  'case:readExtractedData': ['clinician', 'admin'],
  'task:create': ['staff', 'clinician', 'admin'],
  'task:update': ['staff', 'clinician', 'admin'],
  'task:assign': ['staff', 'clinician', 'admin'],
  'task:transition': ['staff', 'clinician', 'admin'],
  'task:delete': ['admin'],
  'ruleset:create': ['admin'],
  'ruleset:update': ['admin'],
  'ruleset:setActive': ['admin'],
  'auditLog:read': ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

export function can(role: Role, action: Action): boolean {
  return (PERMISSIONS[action] as readonly Role[]).includes(role);
}
