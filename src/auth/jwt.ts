import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  importSPKI,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyInput,
  SignJWT,
} from 'jose';
import { createTextKeyedCache } from '../bounded-cache.js';
import { UUID } from '../domain/ids.js';

/** What a verified token says: who (the user's auth_id) and for which tenant. */
export interface TokenClaims {
  authId: string;
  tenantId: string;
  /** When the token stops being accepted (its `exp`, with the clock tolerance): a subscription ends then. */
  expiresAtMs: number;
}

/** Who a token is for: what `signToken` needs. */
export type Identity = Pick<TokenClaims, 'authId' | 'tenantId'>;

/**
 * Checks an Authorization header; every failure is an `AuthenticationError`. A token verified
 * before is answered at once (no promise), which is every request of a signed-in client but its
 * first in a minute.
 */
export type TokenVerifier = (authorization: string | null) => TokenClaims | Promise<TokenClaims>;

/** The asymmetric algorithms we accept; each is fixed by a key type (RSA, EC P-256, Ed25519). */
export type PublicKeyAlgorithm = 'RS256' | 'ES256' | 'EdDSA';
const PUBLIC_KEY_ALGORITHMS: PublicKeyAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

/** Where verification keys come from: exactly one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL. */
export type JwtKeySource =
  | { kind: 'secret'; secret: string }
  | { kind: 'publicKey'; pem: string; algorithm: PublicKeyAlgorithm }
  | { kind: 'jwks'; url: string; cooldownMs: number; cacheMaxAgeMs: number; timeoutMs: number };

export interface JwtOptions {
  key: JwtKeySource;
  issuer?: string | undefined;
  audience?: string | undefined;
  tenantClaim: string;
  /** The JWKS could not be fetched: the issuer's fault, not the client's, so worth a log line. */
  onKeysUnavailable?: (error: unknown) => void;
}

/** A token was missing or failed a check; the message names the check, never the token. */
export class AuthenticationError extends Error {
  override name = 'AuthenticationError';
}

const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * The algorithm a PEM SPKI public key verifies, decided by its type alone, so that a token cannot
 * choose it (`alg: none`, or HS256 signed with the public key's bytes). Throws a one-line message.
 */
export function publicKeyAlgorithm(pem: string): PublicKeyAlgorithm {
  if (!pem.trimStart().startsWith('-----BEGIN PUBLIC KEY-----')) {
    throw new Error('must be a PEM public key ("-----BEGIN PUBLIC KEY-----", SPKI)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('is not a readable PEM public key');
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (type === 'rsa') {
    // jose refuses shorter RSA keys at verification time; say so at start instead.
    if ((details?.modulusLength ?? 0) < 2048) throw new Error('an RSA key must have at least 2048 bits');
    return 'RS256';
  }
  if (type === 'ec' && details?.namedCurve === 'prime256v1') return 'ES256';
  if (type === 'ed25519') return 'EdDSA';
  const kind = type === 'ec' ? `EC ${details?.namedCurve ?? ''}`.trim() : (type ?? 'unknown');
  throw new Error(`${kind} keys are not supported: use RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA)`);
}

/** How long a verified token is remembered, at most: a key withdrawn from a JWKS is honoured this much longer. */
const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Remembered tokens, by their size: thousands of users' tokens of a few hundred bytes each. */
const VERIFIED_TOKENS_BYTES = 4 * 1024 * 1024;

export async function createTokenVerifier(options: JwtOptions): Promise<TokenVerifier> {
  const { key, algorithms } = await verificationKey(options);
  // A client sends the same token with every request: its signature is checked once, then the
  // token (the whole string, signature included) is looked up until it expires or a minute has
  // passed. Only successful verifications are remembered.
  const verified = createTextKeyedCache<{ claims: TokenClaims; untilMs: number }>({
    maxBytes: VERIFIED_TOKENS_BYTES,
    weigh: (token) => 2 * token.length + 200,
  });
  // The token not remembered: its signature and claims checked, and remembered when they pass.
  const verifySignature = async (token: string, now: number): Promise<TokenClaims> => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        // Checked before any key is looked up: an HS256 or `none` token never reaches the JWKS.
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      throw new AuthenticationError(describeJoseError(error));
    }
    const tenantId = payload[options.tenantClaim];
    if (typeof tenantId !== 'string' || !UUID.test(tenantId)) {
      throw new AuthenticationError(`claim "${options.tenantClaim}" must be the tenant's UUID`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new AuthenticationError('claim "sub" is empty');
    // No user's auth id holds U+0000 (PostgreSQL text cannot), and the request's opening carries
    // the subject in its SQL text (src/db/tenant.ts), which U+0000 would cut short.
    if (payload.sub.includes('\u0000')) throw new AuthenticationError('claim "sub" holds U+0000');
    // `exp` is required above; jose accepts a token until exp + the tolerance, and so does this.
    const expiresMs = ((payload.exp as number) + CLOCK_TOLERANCE_SECONDS) * 1000;
    const claims = { authId: payload.sub, tenantId: tenantId.toLowerCase(), expiresAtMs: expiresMs };
    verified.set(token, { claims, untilMs: Math.min(expiresMs, now + VERIFIED_TOKEN_TTL_MS) });
    return claims;
  };
  return (authorization) => {
    if (!authorization) throw new AuthenticationError('missing Authorization header');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (!token) throw new AuthenticationError('Authorization header is not "Bearer <token>"');
    const now = Date.now();
    const known = verified.get(token);
    if (known && known.untilMs > now) return known.claims;
    if (known) verified.delete(token);
    return verifySignature(token, now);
  };
}

async function verificationKey(
  options: JwtOptions,
): Promise<{ key: KeyInput | JWTVerifyGetKey; algorithms: string[] }> {
  const source = options.key;
  switch (source.kind) {
    case 'secret':
      return { key: new TextEncoder().encode(source.secret), algorithms: ['HS256'] };
    case 'publicKey':
      return { key: await importSPKI(source.pem, source.algorithm), algorithms: [source.algorithm] };
    case 'jwks': {
      // jose caches the set, re-fetches it when a token names an unknown `kid`, and does so at most
      // once per cooldown (concurrent misses share one fetch), so unknown kids cannot hammer the issuer.
      const jwks = createRemoteJWKSet(new URL(source.url), {
        cooldownDuration: source.cooldownMs,
        cacheMaxAge: source.cacheMaxAgeMs,
        timeoutDuration: source.timeoutMs,
      });
      // A failed fetch starts a cooldown of its own: while the issuer is down, tokens are checked
      // against the last set fetched, at once, instead of each waiting for (and adding to)
      // another failing fetch; a kid that set does not hold is refused.
      let unavailableUntil = 0;
      const lastFetched: JWTVerifyGetKey = async (header, token) => {
        const set = jwks.jwks();
        try {
          if (set) return await createLocalJWKSet(set)(header, token);
        } catch (error) {
          if (!isKeySelectionError(error)) throw error;
        }
        throw new AuthenticationError('signing keys could not be fetched');
      };
      const key: JWTVerifyGetKey = async (header, token) => {
        if (Date.now() < unavailableUntil) return lastFetched(header, token);
        try {
          return await jwks(header, token);
        } catch (error) {
          if (isKeySelectionError(error)) throw error;
          unavailableUntil = Date.now() + source.cooldownMs;
          options.onKeysUnavailable?.(error);
          return lastFetched(header, token);
        }
      };
      return { key, algorithms: PUBLIC_KEY_ALGORITHMS }; // never HS*: the JWKS is public
    }
  }
}

/** The set was fetched, but no single key in it fits the token: the token's fault. */
function isKeySelectionError(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.reason === 'missing') return `claim "${error.claim}" is missing`;
    if (error.reason === 'invalid') return `claim "${error.claim}" is malformed`;
    return `claim "${error.claim}" does not match`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no signing key matches the token\'s "kid"';
  if (error instanceof errors.JWKSMultipleMatchingKeys)
    return 'several signing keys match: the token needs a "kid"';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  return 'token could not be verified';
}

/** Signs an HS256 token: the development token printed at start, `npm run token`, and tests. */
/**
 * Whether `expiresIn` is a lifetime `signToken` takes: jose's format (`30m`, `12h`, `7d`, …),
 * checked by jose itself, before anything is signed.
 */
export function isTokenLifetime(expiresIn: string): boolean {
  try {
    new SignJWT({}).setExpirationTime(expiresIn);
    return true;
  } catch {
    return false;
  }
}

export async function signToken(
  secret: string,
  claims: Identity,
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
