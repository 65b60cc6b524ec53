/**
 * One ephemeral P-256 key and one Fulcio certificate per run, reused for every
 * signature in it (cosign and sigstore-js's FulcioSigner mint one per call, and
 * FulcioSigner drops the chain, which Kyverno needs in the chain annotation).
 * Re-minted only when less than REFRESH_MARGIN_MS of validity is left.
 */
import crypto from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { ActionError } from '../errors.js';
import { jsonBody, request, type HttpResponse } from '../net/http.js';
import { challengeSubject, type IdToken } from './token.js';

export const REFRESH_MARGIN_MS = 2 * 60 * 1000;
export const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

export interface SigningCertificate {
  /** Leaf certificate, PEM. */
  leafPem: string;
  /** The issuing chain, PEM each: intermediates first, root last. Never empty. */
  chainPems: string[];
  notBefore: Date;
  notAfter: Date;
  /** Subject alternative name: the identity verifiers must name. */
  identity: string;
  /** OIDC issuer from the certificate's extension. */
  issuer: string;
}

export function splitPemChain(pems: string[]): string[] {
  return pems.flatMap((p) => p.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => `${p}\n`);
}

/** Reads identity and issuer from a Fulcio certificate as verifiers do. */
export function describeCertificate(leaf: string | X509Certificate): { identity: string; issuer: string; notBefore: Date; notAfter: Date } {
  const cert = typeof leaf === 'string' ? X509Certificate.parse(leaf) : leaf;
  const san = cert.extSubjectAltName;
  const identity = san?.uri ?? san?.rfc822Name ?? '';
  return { identity, issuer: certificateIssuer(cert), notBefore: cert.notBefore, notAfter: cert.notAfter };
}

/** Issuer from OID .8 (DER UTF8String) or, on older certificates, .1 (raw bytes). */
export function certificateIssuer(cert: X509Certificate): string {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (v2) {
    // extnValue is an OCTET STRING wrapping a UTF8String: skip the inner tag and length.
    const inner = v2.value;
    return inner.subarray(derHeaderLength(inner)).toString('utf8');
  }
  const v1 = cert.extension(OID_ISSUER_V1);
  return v1 ? v1.value.toString('utf8') : '';
}

function derHeaderLength(der: Buffer): number {
  const len = der[1];
  return len < 0x80 ? 2 : 2 + (len & 0x7f);
}

/**
 * A signature counts only if it was logged (or timestamped) while the certificate
 * was valid: verifiers judge validity at that time, notBefore ≤ t ≤ notAfter,
 * with no slack (cosign's CheckExpiry, sigstore-go, @sigstore/verify).
 */
export function assertWithinValidity(what: string, at: Date, cert: Pick<SigningCertificate, 'notBefore' | 'notAfter'>, image: string): void {
  const t = at.getTime();
  if (t < cert.notBefore.getTime() || t > cert.notAfter.getTime()) {
    throw new ActionError(
      `${what} ${at.toISOString()}, outside the certificate's validity (${cert.notBefore.toISOString()} – ${cert.notAfter.toISOString()})`,
      { image, fix: 're-run the job; if it persists, the log, the timestamp authority or the runner clock is off' },
    );
  }
}

/** True when the last certificate of the chain is self-signed: verifiers take it as the root and drop it. */
export function chainEndsAtRoot(chainPems: string[]): boolean {
  const last = chainPems.at(-1);
  if (!last) return false;
  try {
    const cert = X509Certificate.parse(last);
    return cert.verify(cert);
  } catch {
    return false;
  }
}

interface FulcioResponse {
  signedCertificateEmbeddedSct?: { chain?: { certificates?: string[] } };
  signedCertificateDetachedSct?: { chain?: { certificates?: string[] } };
}

export class EphemeralSigner {
  private readonly key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private current?: SigningCertificate;
  private pending?: Promise<SigningCertificate>;
  /** How many certificates were requested from Fulcio (the benchmark reads it). */
  fulcioRequests = 0;

  constructor(
    private readonly fulcioUrl: string,
    private readonly token: () => Promise<IdToken>,
    private readonly now: () => number = Date.now,
  ) {}

  get publicKeyPem(): string {
    return this.key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  /** ECDSA P-256 / SHA-256 over `data`, ASN.1 DER. */
  sign(data: Buffer): Buffer {
    return crypto.sign('sha256', data, this.key.privateKey);
  }

  /** The run's certificate; shared by concurrent callers, re-minted near expiry. */
  async certificate(): Promise<SigningCertificate> {
    if (this.current && this.current.notAfter.getTime() - this.now() > REFRESH_MARGIN_MS) return this.current;
    this.pending ??= this.mint().finally(() => {
      this.pending = undefined;
    });
    this.current = await this.pending;
    return this.current;
  }

  private async mint(): Promise<SigningCertificate> {
    const { jwt, claims } = await this.token();
    const proof = this.sign(Buffer.from(challengeSubject(claims))).toString('base64');
    // Whatever Fulcio echoes back (its errors may quote the request) is shown without the token.
    const scrub = (text: string): string => text.split(jwt).join('***');
    this.fulcioRequests++;
    let res: HttpResponse;
    try {
      res = await request({
        method: 'POST',
        url: `${this.fulcioUrl}/api/v2/signingCert`,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({
          credentials: { oidcIdentityToken: jwt },
          publicKeyRequest: { publicKey: { algorithm: 'ECDSA', content: this.publicKeyPem }, proofOfPossession: proof },
        }),
        timeoutMs: 30_000,
        // 5xx, 429 and timeouts are retried, but not with a token Fulcio would refuse as expired.
        deadline: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
      });
    } catch (err) {
      throw new ActionError(`could not get a signing certificate from Fulcio (${this.fulcioUrl}): ${scrub((err as Error).message)}`, {
        fix: 'check `fulcio-url` and the network; if Sigstore is having an outage (https://status.sigstore.dev), re-run the job later',
        cause: err,
      });
    }
    if (res.status !== 200 && res.status !== 201) {
      // Scrubbed before it is cut short: a token cut in half would not be found.
      const detail = scrub(res.body.toString('utf8')).slice(0, 300).trim();
      const tries = res.attempts && res.attempts > 1 ? ` (after ${res.attempts} attempts)` : '';
      throw new ActionError(`Fulcio (${this.fulcioUrl}) refused the certificate request: HTTP ${res.status}${tries} ${detail}`, {
        fix:
          res.status >= 500 || res.status === 429
            ? 'Sigstore may be having an outage (https://status.sigstore.dev); re-run the job later'
            : 'check that the job has `permissions: id-token: write` and that `fulcio-url` points at Fulcio',
      });
    }
    let body: FulcioResponse;
    try {
      body = jsonBody<FulcioResponse>(res);
    } catch {
      throw new ActionError(`Fulcio (${this.fulcioUrl}) answered with something that is not JSON`, { fix: 'check that `fulcio-url` points at a Fulcio v2 API' });
    }
    const pems = splitPemChain(
      body.signedCertificateEmbeddedSct?.chain?.certificates ?? body.signedCertificateDetachedSct?.chain?.certificates ?? [],
    );
    if (pems.length < 2) {
      throw new ActionError(`Fulcio (${this.fulcioUrl}) answered without an issuing chain`, {
        fix: 'check that `fulcio-url` points at a Fulcio v2 API',
      });
    }
    const [leafPem, ...chainPems] = pems;
    // cosign, Kyverno (type: Cosign) and containers/image drop the chain annotation's last
    // certificate as the root and use the rest as intermediates: without a root there,
    // the intermediate would be dropped and the leaf would not chain.
    if (!chainEndsAtRoot(chainPems)) {
      throw new ActionError(`Fulcio (${this.fulcioUrl}) returned a chain that does not end with its root certificate`, {
        fix: 'check that `fulcio-url` points at a Fulcio that returns its full chain (leaf, intermediates, root)',
      });
    }
    const described = describeCertificate(leafPem);
    const leaf = X509Certificate.parse(leafPem);
    if (!leaf.publicKey.equals(this.key.publicKey.export({ format: 'der', type: 'spki' }))) {
      throw new ActionError('Fulcio returned a certificate for another key', { fix: 'check `fulcio-url`' });
    }
    return { leafPem, chainPems, ...described };
  }
}
