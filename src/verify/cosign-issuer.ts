/**
 * Where the OIDC issuer is read from a Fulcio certificate differs by verifier.
 * We (like sigstore-go and so cosign 3's bundle path) prefer extension .8 and
 * fall back to .1; cosign's `.sig` path and Kyverno `type: Cosign` read the raw
 * bytes of .1 only (cosign pkg/cosign/certextensions.go, GetIssuer, used by
 * CheckCertificatePolicy in pkg/cosign/verify.go). A certificate without .1,
 * or whose .1 says something else, passes here and fails there.
 */
import { X509Certificate } from '@sigstore/core';

/** Fulcio's deprecated issuer extension: the raw issuer URL, not DER-wrapped. */
export const OID_ISSUER_LEGACY = '1.3.6.1.4.1.57264.1.1';

/**
 * Why cosign's `.sig` check would reject `cert` for `issuer` (the one we
 * matched), or undefined when it would read the same issuer.
 */
export function legacyIssuerMismatch(cert: X509Certificate | string, issuer: string): string | undefined {
  const parsed = typeof cert === 'string' ? X509Certificate.parse(cert) : cert;
  const raw = parsed.extension(OID_ISSUER_LEGACY)?.value.toString('utf8');
  const readers = "cosign's .sig check (cosign 2, and cosign 3 when no bundle exists) and Kyverno `type: Cosign` read the issuer only from extension 1.3.6.1.4.1.57264.1.1";
  if (raw === undefined) return `the certificate has no issuer in extension 1.3.6.1.4.1.57264.1.1 (only in .8); ${readers}, so they find none and reject this signature`;
  if (raw !== issuer) return `the certificate's extension 1.3.6.1.4.1.57264.1.1 names the issuer ${raw}, not ${issuer} (.8); ${readers} and reject this signature`;
  return undefined;
}
