import { ConflictError, NotFoundError } from '../errors.js';

/**
 * Database failures that are the client's, mapped in one place: a unique violation is a conflict,
 * a foreign key that points nowhere is a missing row. Anything else stays unexpected (masked).
 */
export function mapDatabaseError(error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'P2002':
      return new ConflictError('A row with the same unique values already exists');
    case 'P2003':
      return new NotFoundError('A referenced row does not exist');
    case 'P2025':
      return new NotFoundError('Not found');
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
