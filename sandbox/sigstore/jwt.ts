/**
 * Compact JWTs with node:crypto only (RS256 and ES256): the sandbox OIDC issuer
 * signs with them and the sandbox Fulcio checks them, as real Fulcio checks
 * GitHub's tokens against GitHub's JWKS.
 */
import crypto from 'node:crypto';

export type JwtClaims = Record<string, unknown>;

export interface JwtHeader {
  alg: string;
  typ?: string;
  kid?: string;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function algorithmOf(key: crypto.KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`no JWT algorithm for a ${key.asymmetricKeyType} key`);
}

export function signJwt(claims: JwtClaims, privateKey: crypto.KeyObject, kid: string): string {
  const header: JwtHeader = { alg: algorithmOf(privateKey), typ: 'JWT', kid };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  // JWS ES256 signatures are raw r||s, not DER.
  const signature = crypto.sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${b64url(signature)}`;
}

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

/** Splits and decodes a JWT without checking anything; throws on a malformed token. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWT (expected three dot-separated parts)');
  const [h, p, s] = parts;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as JwtHeader;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as JwtClaims;
  if (typeof header !== 'object' || typeof claims !== 'object' || claims === null) throw new Error('JWT parts are not JSON objects');
  return { header, claims, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

export interface JwtExpectations {
  publicKey: crypto.KeyObject;
  issuer: string;
  audience: string;
  /** Seconds of clock skew tolerated on nbf/exp. */
  leewaySeconds?: number;
  now?: number;
}

/**
 * Verifies signature, issuer, audience and validity window; returns the claims
 * or throws an Error whose message says which check failed.
 */
export function verifyJwt(token: string, expect: JwtExpectations): JwtClaims {
  let decoded: DecodedJwt;
  try {
    decoded = decodeJwt(token);
  } catch (err) {
    throw new Error(`malformed token: ${(err as Error).message}`);
  }
  const { header, claims, signingInput, signature } = decoded;
  const expectedAlg = algorithmOf(expect.publicKey);
  if (header.alg !== expectedAlg) throw new Error(`token algorithm ${String(header.alg)} is not the issuer's ${expectedAlg}`);
  const valid = crypto.verify('sha256', Buffer.from(signingInput), { key: expect.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) throw new Error('token signature does not verify with the issuer key');
  if (claims.iss !== expect.issuer) throw new Error(`token issuer ${String(claims.iss)} is not ${expect.issuer}`);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expect.audience)) throw new Error(`token audience ${JSON.stringify(claims.aud)} does not include "${expect.audience}"`);
  const now = expect.now ?? Math.floor(Date.now() / 1000);
  const leeway = expect.leewaySeconds ?? 0;
  if (typeof claims.exp !== 'number' || claims.exp + leeway <= now) throw new Error('token has expired');
  if (typeof claims.nbf === 'number' && claims.nbf - leeway > now) throw new Error('token is not valid yet (nbf)');
  return claims;
}
