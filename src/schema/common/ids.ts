import { decodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { UUID } from '../../domain/ids.js';

/** The row id in a global ID of `typename`, or undefined when it is not one. */
export function decodeRowId(globalId: string, typename: string): string | undefined {
  try {
    const decoded = decodeGlobalID(globalId);
    return decoded.typename === typename && UUID.test(decoded.id) ? decoded.id.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** Mutation inputs: a global ID of `typename`, decoded to its row id; anything else is a field error. */
export function globalIdOf(typename: string) {
  return z.string().transform((value, ctx) => {
    const id = decodeRowId(value, typename);
    if (!id) {
      ctx.addIssue({ code: 'custom', message: `Not a ${typename} ID` });
      return z.NEVER;
    }
    return id;
  });
}
