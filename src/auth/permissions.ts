import type { Role } from '../domain/vocabulary.js';

/**
 * The role matrix of API.md, in one table: who may attempt each action. Row-level rules (STAFF
 * only on their own tasks, the last ADMIN) are applied by the services, which see the row. Every
 * mutation names its action through `authScopes: { can: '<action>' }`; a test fails for a
 * mutation without one. SERVICE is the intake pipeline: it writes what it extracted (ingestions,
 * cases with their codes, review tasks) and nothing else; an ADMIN may do all it may.
 */
export const PERMISSIONS = {
  'case:create': ['clinician', 'admin', 'service'],
  'case:update': ['clinician', 'admin'],
  'case:transition': ['clinician', 'admin'],
  'case:reopen': ['admin'],
  'case:delete': ['admin'],
  'caseCode:add': ['clinician', 'admin', 'service'],
  'caseCode:remove': ['clinician', 'admin'],
  'case:readExtractedData': ['clinician', 'admin', 'service'],
  'task:create': ['staff', 'clinician', 'admin', 'service'],
  'task:update': ['staff', 'clinician', 'admin'],
  'task:assign': ['staff', 'clinician', 'admin'],
  'task:transition': ['staff', 'clinician', 'admin'],
  'task:delete': ['admin'],
  'ruleset:create': ['admin'],
  'ruleset:update': ['admin'],
  'ruleset:setActive': ['admin'],
  'auditLog:read': ['admin'],
  'user:create': ['admin'],
  'user:update': ['admin'],
  'user:setActive': ['admin'],
  'ingestion:create': ['admin', 'service'],
  'ingestion:transition': ['admin', 'service'],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

export function can(role: Role, action: Action): boolean {
  return (PERMISSIONS[action] as readonly Role[]).includes(role);
}
