import type { CaseStatus, IngestionStatus, TaskStatus } from './vocabulary.js';

/**
 * The status workflows of API.md. Values are the database's lower-case vocabulary; errors and the
 * audit trail show enum names (`more_info_needed` → `MORE_INFO_NEEDED`).
 */

// The services name the statuses of their transitions through this module.
export type { CaseStatus, IngestionStatus, TaskStatus } from './vocabulary.js';

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

/**
 * The intake pipeline's processing of an e-mail or PDF. PROCESSING may go back to PENDING (the
 * worker gave it up, another picks it up); FAILED → PENDING is a retry; COMPLETED is final.
 */
export const INGESTION_TRANSITIONS: Record<IngestionStatus, readonly IngestionStatus[]> = {
  pending: ['processing', 'failed'],
  processing: ['completed', 'failed', 'pending'],
  failed: ['pending'],
  completed: [],
};

export function enumName(value: string): string {
  return value.toUpperCase();
}
