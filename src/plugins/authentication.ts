import { AuthenticationError, type TokenClaims, type TokenVerifier } from '../auth/jwt.js';
import type { PipelinePlugin } from '../context.js';
import { unauthenticated } from '../errors.js';

/**
 * Verifies the bearer token of every GraphQL request before its body is even read, so that
 * nothing (not a validation message naming a field) reaches an unauthenticated client, and a
 * client without a valid token costs a header's check. The claims go on the request's context,
 * where the executor (src/plugins/executor.ts) finds them, and which reads the user (active, and
 * their role) in the request's own transaction.
 *
 * A request refused before its operation runs (a document that does not parse or validate, a
 * limit) is answered without reading its user: refusals cost no database work. So a deactivated
 * user's malformed document gets its refusal (400) rather than 401; it says nothing that the
 * public schema does not (docs/api-decisions.md, "Administration and intake").
 */
export function useAuthentication(verify: TokenVerifier): PipelinePlugin {
  const refuse = (error: unknown): never => {
    if (!(error instanceof AuthenticationError)) throw error;
    throw unauthenticated(error.message);
  };
  return {
    // Not async: a remembered token is answered without a promise, the common case.
    onRequestParse({ request, serverContext }) {
      let claims: TokenClaims | Promise<TokenClaims>;
      try {
        claims = verify(request.headers.get('authorization'));
      } catch (error) {
        return refuse(error);
      }
      if (!(claims instanceof Promise)) {
        serverContext.claims = claims;
        return;
      }
      return claims.then((verified) => {
        serverContext.claims = verified;
      }, refuse);
    },
  };
}
