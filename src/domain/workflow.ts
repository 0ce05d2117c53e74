/**
 * The status workflows of API.md. Values are the database's lower-case vocabulary; errors and the
 * audit trail show enum names (`more_info_needed` → `MORE_INFO_NEEDED`).
 */
export type CaseStatus = 'pending' | 'approved' | 'denied' | 'more_info_needed';
export type TaskStatus = 'pending' | 'in_progress' | 'completed' | 'cancelled';

export const CASE_TRANSITIONS: Record<CaseStatus, readonly CaseStatus[]> = {
  pending: ['more_info_needed', 'approved', 'denied'],
  more_info_needed: ['pending', 'approved', 'denied'],
  approved: [],
  denied: [],
};

/** APPROVED and DENIED are final, except that an ADMIN may reopen them to PENDING with a reason. */
export const CASE_REOPENINGS: Record<CaseStatus, readonly CaseStatus[]> = {
  pending: [],
  more_info_needed: [],
  approved: ['pending'],
  denied: ['pending'],
};

export const TASK_TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['in_progress', 'completed', 'cancelled'],
  in_progress: ['pending', 'completed', 'cancelled'],
  completed: ['in_progress'],
  cancelled: ['pending'],
};

export const OPEN_TASK_STATUSES: readonly TaskStatus[] = ['pending', 'in_progress'];

export function enumName(value: string): string {
  return value.toUpperCase();
}
