import { AuthenticationError, type TokenVerifier } from '../auth/jwt.js';
import type { PipelinePlugin } from '../context.js';
import { unauthenticated } from '../errors.js';

/**
 * Verifies the bearer token of every GraphQL request before its body is even read, so that
 * nothing (not a validation message naming a field) reaches an unauthenticated client, and a
 * client without a valid token costs a header's check. The claims go on the request's context,
 * where the executor (src/plugins/executor.ts) finds them.
 */
export function useAuthentication(verify: TokenVerifier): PipelinePlugin {
  return {
    async onRequestParse({ request, serverContext }) {
      try {
        serverContext.claims = await verify(request.headers.get('authorization'));
      } catch (error) {
        if (!(error instanceof AuthenticationError)) throw error;
        throw unauthenticated(error.message);
      }
    },
  };
}
