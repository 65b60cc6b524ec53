/**
 * The verdict on one signature, with a one-line reason a person can act on.
 * Shared by the sign self-check and verify mode, for both formats.
 */
import { Verifier, toSignedEntity } from '@sigstore/verify';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import type { IdentityPolicy } from '../config-types.js';
import type { X509Certificate } from '@sigstore/core';
import { describeCertificate } from '../identity/certificate.js';
import { describePolicy, identityMatcher } from './policy.js';
import type { Trust } from './trust.js';

export type FailureKind = 'none-found' | 'identity' | 'issuer' | 'chain' | 'log-proof' | 'signature' | 'digest-claim' | 'malformed';

export interface SignatureVerdict {
  ok: boolean;
  format: 'legacy' | 'bundle';
  /** Where the signature lives (`repo:sha256-….sig` or `repo@sha256:…`). */
  reference: string;
  identity?: string;
  issuer?: string;
  logIndex?: number;
  integratedTime?: number;
  failure?: FailureKind;
  reason?: string;
}

export function failed(base: Omit<SignatureVerdict, 'ok'>, failure: FailureKind, reason: string): SignatureVerdict {
  return { ...base, ok: false, failure, reason };
}

function classify(err: unknown): { failure: FailureKind; reason: string } {
  const e = err as { code?: string; message?: string };
  const msg = e?.message ?? String(err);
  switch (e?.code) {
    case 'CERTIFICATE_ERROR':
      return { failure: 'chain', reason: `certificate does not chain to the trusted root (${msg})` };
    case 'SIGNATURE_ERROR':
      return { failure: 'signature', reason: 'signature does not match the signed payload' };
    case 'TLOG_BODY_ERROR':
      return { failure: 'log-proof', reason: `transparency-log entry is for another signature or key (${msg})` };
    case 'TLOG_ERROR':
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_INCLUSION_PROMISE_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
    case 'TIMESTAMP_ERROR':
      return { failure: 'log-proof', reason: `bad or missing transparency-log proof (${msg})` };
    default:
      return { failure: 'malformed', reason: `cannot verify: ${msg}` };
  }
}

/**
 * Verifies a bundle cryptographically with @sigstore/verify (chain to the
 * trusted root at the log's time, SCT, log promise/proof, signature), then the
 * identity and issuer against the policy. `artifact` is the signed payload for
 * message signatures; DSSE bundles carry their own.
 */
export function verifyBundle(
  bundleJson: SerializedBundle,
  artifact: Buffer | undefined,
  trust: Trust,
  policy: IdentityPolicy,
  base: Omit<SignatureVerdict, 'ok'>,
): SignatureVerdict {
  let leaf: X509Certificate | undefined;
  try {
    const bundle = bundleFromJSON(bundleJson);
    const entity = toSignedEntity(bundle, artifact);
    if (entity.key.$case === 'certificate') leaf = entity.key.certificate;
    new Verifier(trust.material, { tlogThreshold: 1, ctlogThreshold: 1 }).verify(entity);
  } catch (err) {
    const { failure, reason } = classify(err);
    return failed(base, failure, reason);
  }
  if (!leaf) return failed(base, 'malformed', 'the signature carries no certificate');
  const cert = describeCertificate(leaf);
  const tlog = bundleJson.verificationMaterial?.tlogEntries?.[0];
  const withCert: Omit<SignatureVerdict, 'ok'> = {
    ...base,
    identity: cert.identity,
    issuer: cert.issuer,
    logIndex: tlog ? Number(tlog.logIndex) : undefined,
    integratedTime: tlog ? Number(tlog.integratedTime) : undefined,
  };
  if (!identityMatcher(policy).test(cert.identity)) {
    return failed(withCert, 'identity', `signed by another identity: ${cert.identity} (expected ${describePolicy(policy)})`);
  }
  if (cert.issuer !== policy.issuer) {
    return failed(withCert, 'issuer', `certificate from another issuer: ${cert.issuer} (expected ${policy.issuer})`);
  }
  return { ...withCert, ok: true };
}
