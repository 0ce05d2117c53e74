import { decodeGlobalID } from '@pothos/plugin-relay';
import { badUserInput } from '../../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The row id inside a global ID of the given type. A malformed ID or one of another type is the
 * client's mistake (BAD_USER_INPUT); whether the row exists is for the caller's query to find.
 */
export function rowIdFromGlobalId(globalId: string, typename: string, argument = 'id'): string {
  let decoded: { typename: string; id: string } | undefined;
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    decoded = undefined;
  }
  if (!decoded || decoded.typename !== typename || !UUID.test(decoded.id)) {
    throw badUserInput(`Argument "${argument}" is not a ${typename} ID`);
  }
  return decoded.id.toLowerCase();
}
