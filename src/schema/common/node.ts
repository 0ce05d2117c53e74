import { badUserInput } from '../../errors.js';
import { decodeRowId, withArticle } from './ids.js';

/**
 * The row id inside a global ID of the given type, for queries' arguments (mutations' inputs use
 * `globalIdOf`, a field error). A malformed ID or one of another type is the client's mistake
 * (BAD_USER_INPUT); whether the row exists is for the caller's query to find.
 */
export function rowIdFromGlobalId(globalId: string, typename: string, argument = 'id'): string {
  const id = decodeRowId(globalId, typename);
  if (!id) throw badUserInput(`Argument "${argument}" is not ${withArticle(typename)} ID`);
  return id;
}
