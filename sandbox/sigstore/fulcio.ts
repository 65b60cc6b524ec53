/**
 * The sandbox Fulcio: @sigstore/mock's CA, CT log and signingCert handler,
 * wrapped to behave like real Fulcio for GitHub Actions tokens — the token
 * must be signed by the sandbox issuer, for audience "sigstore", unexpired;
 * the proof of possession must verify; the certificate names the job's
 * workflow (`https://github.com/<job_workflow_ref>`) and carries GitHub's
 * extensions (1.3.6.1.4.1.57264.1.*), which the mock maps from the claims.
 */
import crypto from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import { fulcioHandler, initializeCA, initializeCTLog, type HandlerFn } from '@sigstore/mock';
import { decodeJwt, verifyJwt, type JwtClaims } from './jwt.js';
import { bearerToken, json, parseJson, serve, type IncomingRequest, type Reply } from './serve.js';

type KeyPair = { publicKey: crypto.KeyObject; privateKey: crypto.KeyObject };

export interface SandboxFulcio {
  url: string;
  /** DER of the CA root: the certificate chain the trusted root lists. */
  rootCertificate: Buffer;
  ctLog: { logId: Buffer; publicKeyDer: Buffer };
  stop(): Promise<void>;
}

export interface FulcioOptions {
  /** Who signs the identity tokens Fulcio accepts. */
  oidc: { issuer: string; publicKey: crypto.KeyObject };
  caKeyPair: KeyPair;
  ctKeyPair: KeyPair;
}

/** Extra claim fed to the mock so that its SAN is the GitHub workflow URI, not `sub`. */
const SUBJECT_CLAIM = 'sandbox_san_uri';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

class FulcioError extends Error {
  constructor(
    readonly status: 400 | 401,
    message: string,
  ) {
    super(message);
  }
}

/** Fulcio's gRPC-gateway error body: code 3 = InvalidArgument, 16 = Unauthenticated. */
const failure = (err: FulcioError): Reply => json(err.status, { code: err.status === 401 ? 16 : 3, message: err.message, details: [] });

const toPem = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;

/** Re-wraps PEM at 64 columns as real Fulcio does (the mock writes one long line). */
const rewrapPem = (pem: string): string => toPem(Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64'));

export async function startFulcio(opts: FulcioOptions): Promise<SandboxFulcio> {
  const ctLog = await initializeCTLog(opts.ctKeyPair);
  const ca = await initializeCA(opts.caKeyPair, ctLog);
  const issueWithMock: HandlerFn = fulcioHandler(ca, { strict: true, subjectClaim: SUBJECT_CLAIM }).fn;
  const rootCertificate = Buffer.from(ca.rootCertificate.buffer, ca.rootCertificate.byteOffset, ca.rootCertificate.byteLength);
  const rootPem = toPem(rootCertificate);

  const signingCert = async (req: IncomingRequest): Promise<Reply> => {
    try {
      const request = parseJson(req.body) as FulcioRequest | undefined;
      if (!request || typeof request !== 'object') throw new FulcioError(400, 'the request body is not JSON');
      const token = request.credentials?.oidcIdentityToken ?? bearerToken(req.headers);
      if (!token) throw new FulcioError(401, 'no identity token (credentials.oidcIdentityToken or an Authorization bearer)');
      const claims = checkToken(token, opts.oidc);
      const publicKeyPem = checkKey(request, challengeOf(claims));
      const forMock = {
        credentials: { oidcIdentityToken: withClaim(token, SUBJECT_CLAIM, `https://github.com/${String(claims.job_workflow_ref)}`) },
        publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: publicKeyPem } },
      };
      const issued = await issueWithMock(JSON.stringify(forMock));
      if (issued.statusCode !== 201) throw new FulcioError(400, `the CA refused: ${String(issued.response)}`);
      const answer = JSON.parse(String(issued.response)) as { signedCertificateEmbeddedSct: { chain: { certificates: string[] } } };
      const certificates = answer.signedCertificateEmbeddedSct.chain.certificates.map(rewrapPem);
      // Real Fulcio answers its v2 API through the gRPC gateway: 200 (sigstore-go, in cosign 3,
      // accepts nothing else). Only the legacy v1 API answers 201.
      return json(200, { signedCertificateEmbeddedSct: { chain: { certificates } } });
    } catch (err) {
      if (err instanceof FulcioError) return failure(err);
      throw err;
    }
  };

  /**
   * Fulcio's legacy v1 API, which cosign 2 still calls: the token comes as a bearer, the key as
   * base64 of its PEM with the proof in `signedEmailAddress` (or a base64 PEM CSR), and the
   * answer is the PEM chain itself, leaf first (the SCT is embedded, so no `SCT` header).
   */
  const signingCertV1 = async (req: IncomingRequest): Promise<Reply> => {
    const request = parseJson(req.body) as { publicKey?: { content?: string }; signedEmailAddress?: string; certificateSigningRequest?: string } | undefined;
    const fromBase64 = (value?: string) => (value ? Buffer.from(value, 'base64').toString('utf8') : undefined);
    const v2: FulcioRequest = request?.certificateSigningRequest
      ? { certificateSigningRequest: fromBase64(request.certificateSigningRequest) }
      : { publicKeyRequest: { publicKey: { content: fromBase64(request?.publicKey?.content) }, proofOfPossession: request?.signedEmailAddress } };
    const reply = await signingCert({ ...req, body: Buffer.from(JSON.stringify(v2)) });
    if (reply.status !== 200) return reply;
    const answer = reply.body as { signedCertificateEmbeddedSct: { chain: { certificates: string[] } } };
    return { status: 201, body: answer.signedCertificateEmbeddedSct.chain.certificates.join(''), contentType: 'application/pem-certificate-chain' };
  };

  const route = async (req: IncomingRequest): Promise<Reply> => {
    const path = req.url.pathname.replace(/\/+$/, '');
    if (path === '/api/v2/signingCert' && req.method === 'POST') return signingCert(req);
    if (path === '/api/v1/signingCert' && req.method === 'POST') return signingCertV1(req);
    if (path === '/api/v2/trustBundle' && req.method === 'GET') return json(200, { chains: [{ certificates: [rootPem] }] });
    if (path === '/api/v1/rootCert' && req.method === 'GET') return { status: 200, body: rootPem, contentType: 'application/pem-certificate-chain' };
    if (path === '/api/v2/configuration' && req.method === 'GET') {
      return json(200, { issuers: [{ issuerUrl: opts.oidc.issuer, audience: 'sigstore', challengeClaim: 'sub' }] });
    }
    return json(404, { code: 5, message: `no such endpoint: ${req.method} ${req.url.pathname}`, details: [] });
  };

  const server = await serve('Fulcio', () => route);
  return {
    url: server.url,
    rootCertificate,
    ctLog: { logId: Buffer.from(ctLog.logID.buffer, ctLog.logID.byteOffset, ctLog.logID.byteLength), publicKeyDer: ctLog.publicKey },
    stop: () => server.stop(),
  };
}

interface FulcioRequest {
  credentials?: { oidcIdentityToken?: string };
  publicKeyRequest?: { publicKey?: { algorithm?: string; content?: string }; proofOfPossession?: string };
  certificateSigningRequest?: string;
}

function checkToken(token: string, oidc: FulcioOptions['oidc']): JwtClaims {
  let claims: JwtClaims;
  try {
    claims = verifyJwt(token, { publicKey: oidc.publicKey, issuer: oidc.issuer, audience: 'sigstore' });
  } catch (err) {
    throw new FulcioError(401, `There was an error processing the identity token: ${(err as Error).message}`);
  }
  if (typeof claims.job_workflow_ref !== 'string' || !claims.job_workflow_ref) {
    throw new FulcioError(400, 'There was an error processing the identity token: no job_workflow_ref claim (not a GitHub Actions token)');
  }
  return claims;
}

/** What the proof of possession signs: `email` if present, else `sub` (as sigstore clients do). */
function challengeOf(claims: JwtClaims): string {
  const subject = typeof claims.email === 'string' ? claims.email : claims.sub;
  if (typeof subject !== 'string' || !subject) throw new FulcioError(400, 'the identity token has no subject to prove possession against');
  return subject;
}

/** Checks the proof of possession (or the CSR's self-signature); returns the key as PEM. */
function checkKey(request: FulcioRequest, challenge: string): string {
  let key: crypto.KeyObject;
  let proven: boolean;
  if (request.publicKeyRequest) {
    const content = request.publicKeyRequest.publicKey?.content;
    if (!content) throw new FulcioError(400, 'publicKeyRequest.publicKey.content is missing');
    try {
      key = crypto.createPublicKey(content);
    } catch {
      throw new FulcioError(400, 'publicKeyRequest.publicKey.content is not a PEM public key');
    }
    const proof = Buffer.from(request.publicKeyRequest.proofOfPossession ?? '', 'base64');
    proven = proof.length > 0 && crypto.verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(challenge), key, proof);
  } else if (request.certificateSigningRequest) {
    ({ key, proven } = checkCsr(request.certificateSigningRequest));
  } else {
    throw new FulcioError(400, 'the request has neither publicKeyRequest nor certificateSigningRequest');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new FulcioError(400, 'the sandbox Fulcio issues certificates for ECDSA P-256 keys only');
  }
  if (!proven) throw new FulcioError(400, 'The signature supplied in the request could not be verified (proof of possession)');
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

/** A PKCS#10 CSR (base64 of PEM, or PEM): its key, and whether its self-signature verifies. */
function checkCsr(encoded: string): { key: crypto.KeyObject; proven: boolean } {
  try {
    const pem = encoded.includes('-----BEGIN') ? encoded : Buffer.from(encoded, 'base64').toString('utf8');
    const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const [info, algorithm, signature] = ASN1Obj.parseBuffer(der as Buffer<ArrayBuffer>).subs;
    const key = crypto.createPublicKey({ key: info.subs[2].toDER(), format: 'der', type: 'spki' });
    const algorithmOid = algorithm.subs[0].toOID();
    // BIT STRING content starts with the count of unused bits.
    const proven = algorithmOid === ECDSA_WITH_SHA256 && crypto.verify('sha256', info.toDER(), key, signature.value.subarray(1));
    return { key, proven };
  } catch {
    throw new FulcioError(400, 'certificateSigningRequest is not a PEM PKCS#10 request');
  }
}

/** The same token with one more claim: only the mock reads it, and it does not check signatures. */
function withClaim(token: string, name: string, value: string): string {
  const { claims } = decodeJwt(token);
  const [header, , signature] = token.split('.');
  return `${header}.${Buffer.from(JSON.stringify({ ...claims, [name]: value })).toString('base64url')}.${signature}`;
}
