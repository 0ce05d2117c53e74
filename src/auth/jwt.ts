import { errors, jwtVerify, SignJWT } from 'jose';

/** What a verified token says: who (the user's auth_id) and for which tenant. */
export interface TokenClaims {
  authId: string;
  tenantId: string;
}

export interface JwtOptions {
  secret: string;
  issuer?: string | undefined;
  audience?: string | undefined;
  tenantClaim: string;
}

/** A token was missing or failed a check; the message names the check, never the token. */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CLOCK_TOLERANCE_SECONDS = 5;

export function createTokenVerifier(
  options: JwtOptions,
): (authorization: string | null) => Promise<TokenClaims> {
  const key = new TextEncoder().encode(options.secret);
  return async (authorization) => {
    if (!authorization) throw new AuthenticationError('missing Authorization header');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new AuthenticationError('Authorization header is not "Bearer <token>"');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(match[1], key, {
        algorithms: ['HS256'], // fixed by the key type: `none` and RS/HS confusion are refused
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    const tenantId = payload[options.tenantClaim];
    if (typeof tenantId !== 'string' || !UUID.test(tenantId)) {
      throw new AuthenticationError(`claim "${options.tenantClaim}" must be the tenant's UUID`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new AuthenticationError('claim "sub" is empty');
    return { authId: payload.sub, tenantId: tenantId.toLowerCase() };
  };
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    return `claim "${error.claim}" check failed (${error.reason})`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  return 'token could not be verified';
}

/** Signs an HS256 token: the development token printed at start, `npm run token`, and tests. */
export async function signToken(
  secret: string,
  claims: TokenClaims,
  options: {
    tenantClaim: string;
    expiresIn?: string;
    issuer?: string | undefined;
    audience?: string | undefined;
  },
): Promise<string> {
  let jwt = new SignJWT({ [options.tenantClaim]: claims.tenantId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.authId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
