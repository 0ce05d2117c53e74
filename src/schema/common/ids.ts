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

/**
 * "a Case", "an Ingestion", "a User": the article the messages about a type's IDs need. By the
 * first sound: a leading U is read "you" in the type names here (User), so it takes "a".
 */
export function withArticle(typename: string): string {
  return `${/^[AEIO]/.test(typename) ? 'an' : 'a'} ${typename}`;
}

/**
 * Mutation inputs: a global ID of `typename`, decoded to its row id; anything else (not a global
 * ID, another type's, a key that is not a UUID, empty) is a field error of the input's field.
 */
export function globalIdOf(typename: string) {
  return z.string().transform((value, ctx) => {
    const id = decodeRowId(value, typename);
    if (!id) {
      ctx.addIssue({ code: 'custom', message: `Not ${withArticle(typename)} ID` });
      return z.NEVER;
    }
    return id;
  });
}
